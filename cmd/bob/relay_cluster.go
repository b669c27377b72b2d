package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"

	"github.com/spf13/pflag"

	"github.com/bob-p2p/bob/relay"
	"github.com/bob-p2p/bob/relay/cluster"
)

// clusterFlags are bob relay's settings for joining a cluster. Secrets come
// from files or the environment, never from the command line, where any
// local user could read them in the process list.
type clusterFlags struct {
	urls       string
	nodeAddr   string
	secretFile string
	credsFile  string
	tokenFile  string
	replicas   int
}

func (f *clusterFlags) register(fl *pflag.FlagSet) {
	fl.StringVar(&f.urls, "cluster", "", "join a relay cluster through these NATS servers (nats://host:4222,...)")
	fl.StringVar(&f.nodeAddr, "node-addr", "", "with --cluster: host:port other nodes reach this one at (it is listened on)")
	fl.StringVar(&f.secretFile, "cluster-secret-file", "", "with --cluster: file holding the secret shared by the nodes (or $BOB_CLUSTER_SECRET)")
	fl.StringVar(&f.credsFile, "nats-creds", "", "with --cluster: NATS credentials file")
	fl.StringVar(&f.tokenFile, "nats-token-file", "", "with --cluster: file holding a NATS token (or $BOB_NATS_TOKEN)")
	fl.IntVar(&f.replicas, "cluster-replicas", 3, "with --cluster: NATS servers that keep the nameplate bucket")
}

// readSecret returns the trimmed content of file, else the variable.
func readSecret(e *env, file, variable string) (string, error) {
	if file == "" {
		return e.getenv(variable), nil
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return "", fmt.Errorf("reading the secret: %w", err)
	}
	return strings.TrimSpace(string(b)), nil
}

// joinCluster connects to NATS and listens on the node address, when
// --cluster is set, and sets cfg.Cluster. Call the returned start with the
// relay once it exists; the stop it returns ends the node's side and must
// run after the relay's Serve returned, so every nameplate is released.
func (f clusterFlags) join(ctx context.Context, e *env, cfg *relay.Config, log *slog.Logger) (start func(*relay.Server) (stop func()), err error) {
	if f.urls == "" {
		for _, s := range []string{f.nodeAddr, f.secretFile, f.credsFile, f.tokenFile} {
			if s != "" {
				return nil, usageError{errors.New("--node-addr, --cluster-secret-file, --nats-creds and --nats-token-file need --cluster")}
			}
		}
		return func(*relay.Server) func() { return func() {} }, nil
	}
	if f.nodeAddr == "" {
		return nil, usageError{errors.New("--cluster needs --node-addr, where other nodes reach this one")}
	}
	secret, err := readSecret(e, f.secretFile, "BOB_CLUSTER_SECRET")
	if err != nil {
		return nil, err
	}
	if len(secret) < cluster.MinSecretLen {
		return nil, usageError{fmt.Errorf("--cluster needs a secret of at least %d bytes in $BOB_CLUSTER_SECRET or --cluster-secret-file", cluster.MinSecretLen)}
	}
	token, err := readSecret(e, f.tokenFile, "BOB_NATS_TOKEN")
	if err != nil {
		return nil, err
	}
	var lc net.ListenConfig
	nln, err := lc.Listen(ctx, "tcp", f.nodeAddr)
	if err != nil {
		return nil, fmt.Errorf("relay cannot listen for other nodes: %w", err)
	}
	cl, err := cluster.New(cluster.Config{
		URLs: f.urls, CredsFile: f.credsFile, Token: token, NodeAddr: f.nodeAddr,
		Secret: []byte(secret), TTL: cfg.WaitTimeout, Replicas: f.replicas, Logger: log,
	})
	if err != nil {
		nln.Close() //nolint:errcheck // never served
		return nil, err
	}
	cfg.Cluster = cl
	return func(srv *relay.Server) func() {
		nctx, cancel := context.WithCancel(ctx)
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := cl.ServeNodes(nctx, nln, srv.ServeForwarded); err != nil {
				log.Error("node port stopped", "err", err)
			}
		}()
		return func() {
			cancel()
			wg.Wait()
			cl.Close()
		}
	}, nil
}
