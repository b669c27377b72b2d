package cluster_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/bob-p2p/bob/internal/codes"
	"github.com/bob-p2p/bob/session"
	"github.com/bob-p2p/bob/transfer"
)

// TestRealFileAcrossNodes sends a real file with bob's own session (PAKE,
// encryption, transfer) through a round-robin front, so that the sender
// and the receiver land on different nodes of the cluster.
func TestRealFileAcrossNodes(t *testing.T) {
	members := startNATS(t, 3)
	urls := natsURLs(members)
	nodes := []*node{startNode(t, urls, nodeOpts{}), startNode(t, urls, nodeOpts{}), startNode(t, urls, nodeOpts{})}
	waitReady(t, nodes[0])
	f := startFront(t, nodes[0].addr, nodes[1].addr, nodes[2].addr)
	src, dst := t.TempDir(), t.TempDir()
	data := payload(t, 2<<20)
	if err := os.WriteFile(filepath.Join(src, "file.bin"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	codeCh := make(chan string, 1)
	cfg := session.Config{Relays: []string{f.addr()}, NoDiscovery: true, NoDirect: true}
	sendCfg := cfg
	sendCfg.Events = func(e transfer.Event) {
		if cr, ok := e.(transfer.CodeReady); ok {
			codeCh <- cr.Code
		}
	}
	sent := make(chan error, 1)
	go func() {
		sent <- session.Send(ctx, sendCfg, codes.Code{}, transfer.SendOptions{Paths: []string{filepath.Join(src, "file.bin")}})
	}()
	var code string
	select {
	case code = <-codeCh:
	case err := <-sent:
		t.Fatalf("sender ended before showing a code: %v", err)
	}
	parsed, err := codes.Parse(code)
	if err != nil {
		t.Fatal(err)
	}
	forwardedBefore := nodes[0].forwarded("to") + nodes[1].forwarded("to") + nodes[2].forwarded("to")
	recvErr := session.Receive(ctx, cfg, parsed, transfer.ReceiveOptions{
		OutDir: dst,
		Accept: func(context.Context, transfer.OfferReceived) (bool, error) { return true, nil },
	})
	if recvErr != nil {
		cancel()
	}
	if err := <-sent; err != nil || recvErr != nil {
		t.Fatalf("send: %v; receive: %v", err, recvErr)
	}
	got, err := os.ReadFile(filepath.Join(dst, "file.bin"))
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("received file differs from the one sent (%d bytes, %v)", len(got), err)
	}
	forwarded := nodes[0].forwarded("to") + nodes[1].forwarded("to") + nodes[2].forwarded("to") - forwardedBefore
	if forwarded < 1 {
		t.Fatalf("the receiver was not forwarded between nodes (%v forwards)", forwarded)
	}
}
