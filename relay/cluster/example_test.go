package cluster_test

import (
	"context"
	"log"
	"net"
	"os"

	"github.com/bob-p2p/bob/relay"
	"github.com/bob-p2p/bob/relay/cluster"
)

// How bob relay --cluster wires a node: the cluster is the relay's
// Config.Cluster, and the node port hands receivers other nodes forward to
// the relay. (Not run: it needs a NATS server.)
func Example() {
	ctx := context.Background()
	cfg := relay.DefaultConfig()
	cl, err := cluster.New(cluster.Config{
		URLs:     "nats://10.0.0.1:4222,nats://10.0.0.2:4222,nats://10.0.0.3:4222",
		NodeAddr: "10.0.0.1:9010",
		Secret:   []byte(os.Getenv("BOB_CLUSTER_SECRET")),
		TTL:      cfg.WaitTimeout,
	})
	if err != nil {
		log.Fatal(err)
	}
	defer cl.Close()
	cfg.Cluster = cl
	srv := relay.New(cfg)

	nodes, err := net.Listen("tcp", "10.0.0.1:9010")
	if err != nil {
		log.Fatal(err)
	}
	go cl.ServeNodes(ctx, nodes, srv.ServeForwarded)
	clients, err := net.Listen("tcp", ":9009")
	if err != nil {
		log.Fatal(err)
	}
	log.Fatal(srv.Serve(ctx, clients))
}
