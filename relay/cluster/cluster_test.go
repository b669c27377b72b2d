package cluster_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/bob-p2p/bob/relay/rendezvous"
)

func payload(t testing.TB, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

// waitReady waits until the JetStream cluster elects its leaders and a
// claim goes through on n; the first claims of a new cluster are refused as
// cluster unavailable while it does.
func waitReady(t testing.TB, n *node) {
	t.Helper()
	eventually(t, 30*time.Second, "first claim on a new cluster", func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		o, err := openSender(ctx, n.addr, "")
		if err != nil {
			return err
		}
		return o.conn.Close()
	})
}

// mustOpen opens a sender's nameplate, to be closed when the test ends.
func mustOpen(ctx context.Context, t testing.TB, addr, want string) *opened {
	t.Helper()
	o, err := openSender(ctx, addr, want)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { o.conn.Close() })
	return o
}

// twoNodes starts one NATS server and two nodes with this wait timeout
// (0 for the default), ready to pair.
func twoNodes(t testing.TB, wait time.Duration) ([]*natsMember, *node, *node) {
	t.Helper()
	members := startNATS(t, 1)
	urls := natsURLs(members)
	a := startNode(t, urls, nodeOpts{wait: wait, replicas: 1})
	b := startNode(t, urls, nodeOpts{wait: wait, replicas: 1})
	waitReady(t, a)
	return members, a, b
}

// TestThreeNodesOneCodeSpace runs a three-member JetStream cluster, three
// relays and a round-robin front: pairs split over two nodes transfer real
// bytes, nameplates are the lowest free cluster-wide, and a second
// receiver on any node is refused.
func TestThreeNodesOneCodeSpace(t *testing.T) {
	members := startNATS(t, 3)
	urls := natsURLs(members)
	nodes := []*node{startNode(t, urls, nodeOpts{}), startNode(t, urls, nodeOpts{}), startNode(t, urls, nodeOpts{})}
	waitReady(t, nodes[0])
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	t.Run("forwarded pair", func(t *testing.T) {
		to0, from1 := nodes[1].forwarded("to"), nodes[0].forwarded("from")
		data := payload(t, 3<<20)
		if _, err := pairUp(ctx, nodes[0].addr, nodes[1].addr, data); err != nil {
			t.Fatal(err)
		}
		if got := nodes[1].forwarded("to") - to0; got != 1 {
			t.Errorf("node 1 forwarded %v receivers to other nodes, want 1", got)
		}
		if got := nodes[0].forwarded("from") - from1; got != 1 {
			t.Errorf("node 0 served %v receivers from other nodes, want 1", got)
		}
	})

	t.Run("lowest free nameplate cluster-wide", func(t *testing.T) {
		a := mustOpen(ctx, t, nodes[0].addr, "")
		b := mustOpen(ctx, t, nodes[1].addr, "")
		// The first pair's nameplate may still be being released, so the
		// two are the lowest free or next to it.
		low := map[string]bool{"1": true, "2": true, "3": true}
		if a.nameplate == b.nameplate || !low[a.nameplate] || !low[b.nameplate] {
			t.Fatalf("nameplates %s and %s on two nodes, want two of 1, 2, 3", a.nameplate, b.nameplate)
		}
		// A chosen nameplate another node holds is taken.
		if _, err := openSender(ctx, nodes[2].addr, b.nameplate); !errors.Is(err, rendezvous.ErrNameplateTaken) {
			t.Fatalf("opening a nameplate node 1 holds on node 2: %v, want ErrNameplateTaken", err)
		}
	})

	t.Run("second receiver refused on every node", func(t *testing.T) {
		o := mustOpen(ctx, t, nodes[0].addr, "")
		first, err := net.Dial("tcp", nodes[1].addr)
		if err != nil {
			t.Fatal(err)
		}
		defer first.Close()
		if err := rendezvous.Claim(ctx, first, o.nameplate, ""); err != nil {
			t.Fatalf("first receiver: %v", err)
		}
		if err := rendezvous.WaitPaired(ctx, o.conn); err != nil {
			t.Fatalf("sender: %v", err)
		}
		for i, n := range nodes {
			_, err := receive(ctx, n.addr, o.nameplate, nil)
			if !errors.Is(err, rendezvous.ErrAlreadyClaimed) {
				t.Errorf("second receiver on node %d: %v, want ErrAlreadyClaimed", i, err)
			}
		}
	})

	t.Run("unknown nameplate", func(t *testing.T) {
		_, err := receive(ctx, nodes[2].addr, "4321", nil)
		if !errors.Is(err, rendezvous.ErrUnknownNameplate) {
			t.Fatalf("claiming a nameplate no one opened: %v, want ErrUnknownNameplate", err)
		}
	})

	t.Run("through a round-robin front", func(t *testing.T) {
		f := startFront(t, nodes[0].addr, nodes[1].addr, nodes[2].addr)
		before := nodes[0].forwarded("to") + nodes[1].forwarded("to") + nodes[2].forwarded("to")
		for i := range 6 {
			if _, err := pairUp(ctx, f.addr(), f.addr(), payload(t, 64<<10+i)); err != nil {
				t.Fatalf("pair %d: %v", i, err)
			}
		}
		// Senders and receivers alternate over three nodes, so no pair
		// meets on one node.
		after := nodes[0].forwarded("to") + nodes[1].forwarded("to") + nodes[2].forwarded("to")
		if after-before != 6 {
			t.Fatalf("%v of 6 pairs forwarded, want all", after-before)
		}
	})

	t.Run("one NATS member down", func(t *testing.T) {
		members[0].stop()
		eventually(t, 30*time.Second, "pairing with a NATS member down", func() error {
			tctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			defer cancel()
			_, err := pairUp(tctx, nodes[2].addr, nodes[0].addr, payload(t, 100<<10))
			return err
		})
		for i := range 5 {
			if _, err := pairUp(ctx, nodes[i%3].addr, nodes[(i+1)%3].addr, payload(t, 10<<10)); err != nil {
				t.Fatalf("pair %d with a NATS member down: %v", i, err)
			}
		}
	})
}

// TestCrashedNodeFreesItsNameplates: a node that dies while its sender
// waits holds its nameplate only until the wait timeout.
func TestCrashedNodeFreesItsNameplates(t *testing.T) {
	const wait = 2 * time.Second
	_, a, b := twoNodes(t, wait)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	mustOpen(ctx, t, a.addr, "77")
	a.crash()
	if _, err := openSender(ctx, b.addr, "77"); !errors.Is(err, rendezvous.ErrNameplateTaken) {
		t.Fatalf("right after the crash: %v, want the nameplate still taken", err)
	}
	// NATS expires the key by itself; then the number is free again.
	eventually(t, 10*wait, "nameplate of a crashed node to expire", func() error {
		o2, err := openSender(ctx, b.addr, "77")
		if err != nil {
			return err
		}
		return o2.conn.Close()
	})
}

// TestForwardedReceiverLearnsItsAddress: a receiver forwarded one hop is
// told the address its own node saw it at, not the forwarding node's, so a
// direct path punched from it reaches the receiver.
func TestForwardedReceiverLearnsItsAddress(t *testing.T) {
	_, a, b := twoNodes(t, 0)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	o := mustOpen(ctx, t, a.addr, "")
	recv, err := net.Dial("tcp", b.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer recv.Close()
	got, err := rendezvous.ClaimObserved(ctx, recv, o.nameplate, "")
	if err != nil {
		t.Fatal(err)
	}
	if want := netip.MustParseAddrPort(recv.LocalAddr().String()); got != want {
		t.Fatalf("forwarded receiver told it is at %v, want %v", got, want)
	}
	sent, err := rendezvous.WaitPairedObserved(ctx, o.conn)
	if err != nil {
		t.Fatal(err)
	}
	if want := netip.MustParseAddrPort(o.conn.LocalAddr().String()); sent != want {
		t.Fatalf("sender told it is at %v, want %v", sent, want)
	}
}

// TestPairedNameplateVoidClusterWide: once a pair ends its nameplate stays
// taken on every node for the wait timeout, so whoever spent the code's one
// guess cannot reopen it elsewhere as a fake sender; then it is free.
func TestPairedNameplateVoidClusterWide(t *testing.T) {
	const wait = 2 * time.Second
	_, a, b := twoNodes(t, wait)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	nameplate, err := pairUp(ctx, a.addr, b.addr, payload(t, 1000))
	if err != nil {
		t.Fatal(err)
	}
	for i, n := range []*node{a, b} {
		if _, err := openSender(ctx, n.addr, nameplate); !errors.Is(err, rendezvous.ErrNameplateTaken) {
			t.Errorf("reopening %s on node %d right after its pair: %v, want ErrNameplateTaken", nameplate, i, err)
		}
	}
	eventually(t, 10*wait, "a voided nameplate to be free again", func() error {
		o, err := openSender(ctx, b.addr, nameplate)
		if err != nil {
			return err
		}
		return o.conn.Close()
	})
}

// TestGracefulStopFreesAtOnce: a node that stops gracefully releases its
// nameplates right away, long before their TTL.
func TestGracefulStopFreesAtOnce(t *testing.T) {
	_, a, b := twoNodes(t, time.Hour)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	o := mustOpen(ctx, t, a.addr, "55")
	a.stop()
	if err := rendezvous.WaitPaired(ctx, o.conn); !errors.Is(err, rendezvous.ErrShuttingDown) {
		t.Fatalf("sender on a stopping node: %v, want ErrShuttingDown", err)
	}
	o2, err := openSender(ctx, b.addr, "55")
	if err != nil {
		t.Fatalf("nameplate of a stopped node is not free at once: %v", err)
	}
	o2.conn.Close()
}

// TestNATSDownRefusesThenRecovers: with all of NATS down, pairs already
// made go on, new ones are refused as "cluster unavailable", and the nodes
// recover once NATS is back.
func TestNATSDownRefusesThenRecovers(t *testing.T) {
	members, a, b := twoNodes(t, 0)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	// A pair made before the outage.
	o := mustOpen(ctx, t, a.addr, "")
	rc, err := net.Dial("tcp", b.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	if err := rendezvous.Claim(ctx, rc, o.nameplate, ""); err != nil {
		t.Fatal(err)
	}
	if err := rendezvous.WaitPaired(ctx, o.conn); err != nil {
		t.Fatal(err)
	}

	members[0].stop()
	eventually(t, 10*time.Second, "node to see NATS gone", func() error {
		if v := counter(a.srv, "bob_relay_cluster_connected", "", ""); v != 0 {
			return fmt.Errorf("bob_relay_cluster_connected = %v", v)
		}
		return nil
	})
	_, err = openSender(ctx, a.addr, "")
	if !errors.Is(err, rendezvous.ErrClusterUnavailable) || !bytes.Contains([]byte(err.Error()), []byte("cluster unavailable")) {
		t.Fatalf("sender with NATS down: %v, want ErrClusterUnavailable", err)
	}
	if _, err := receive(ctx, b.addr, "999", nil); !errors.Is(err, rendezvous.ErrClusterUnavailable) {
		t.Fatalf("receiver with NATS down: %v, want ErrClusterUnavailable", err)
	}
	// The pair made before goes on.
	msg := []byte("still forwarding")
	if _, err := o.conn.Write(msg); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, len(msg))
	if _, err := io.ReadFull(rc, got); err != nil || !bytes.Equal(got, msg) {
		t.Fatalf("pair made before the outage: %q, %v", got, err)
	}

	members[0].start(t)
	eventually(t, 30*time.Second, "pairing after NATS came back", func() error {
		tctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		_, err := pairUp(tctx, a.addr, b.addr, payload(t, 1<<20))
		return err
	})
	if v := counter(b.srv, "bob_relay_cluster_connected", "", ""); v != 1 {
		t.Fatalf("bob_relay_cluster_connected = %v after recovery, want 1", v)
	}
}
