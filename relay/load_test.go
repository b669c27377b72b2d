package relay_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"io"
	"net"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/bob-p2p/bob/internal/relaytest"
	"github.com/bob-p2p/bob/relay/rendezvous"
)

// heapAndStacks is the memory the Go runtime holds for live objects and
// goroutine stacks.
func heapAndStacks() uint64 {
	settle()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc + ms.StackInuse
}

func TestLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("load test skipped in -short mode")
	}
	waiting, pairs, perPair := 3000, 40, 512<<10
	limit, err := raiseFDLimit()
	if err != nil {
		t.Logf("raising the open-file limit: %v", err)
	}
	// Each waiting sender costs two descriptors here (both ends in this
	// process) and each pair four; keep well inside the limit.
	if budget := int(limit) - 4*pairs - 256; 2*waiting > budget {
		waiting = budget / 2
		t.Logf("open-file limit %d: testing %d waiting senders", limit, waiting)
	}
	cfg := relaytest.Config()
	cfg.MaxConns = 2*waiting + 2*pairs + 16
	cfg.MaxWaiting = waiting + pairs
	addr, srv := relaytest.StartConfig(t, cfg)

	before := heapAndStacks()
	senders := make([]*net.TCPConn, waiting)
	for i := range senders {
		c, np := open(t, addr, "")
		if np != strconv.Itoa(i+1) {
			t.Fatalf("sender %d got nameplate %s, want %d", i, np, i+1)
		}
		senders[i] = c
	}
	after := heapAndStacks()
	perConn := float64(after-before) / float64(waiting)
	t.Logf("%d waiting senders: %.0f bytes of heap and stack each (both ends, both in this process)", waiting, perConn)
	waitMetric(t, srv, float64(waiting), "bob_relay_waiting")

	// Pairs of their own, forwarding concurrently while the senders wait.
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	var wg sync.WaitGroup
	errs := make(chan error, pairs)
	for i := range pairs {
		wg.Go(func() {
			if err := runPair(ctx, addr, perPair); err != nil {
				errs <- fmt.Errorf("pair %d: %w", i, err)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if got := metric(t, srv, "bob_relay_pairings_total"); got != float64(pairs) {
		t.Errorf("bob_relay_pairings_total = %v, want %d", got, pairs)
	}
	for _, c := range senders {
		c.Close()
	}
	waitMetric(t, srv, 0, "bob_relay_connections")
	waitMetric(t, srv, 0, "bob_relay_waiting")
}

// runPair pairs two clients and sends n random bytes each way at once,
// checking they arrive intact.
func runPair(ctx context.Context, addr string, n int) error {
	s, err := dialRaw(addr)
	if err != nil {
		return err
	}
	defer s.Close()
	np, err := rendezvous.Open(ctx, s, "", "")
	if err != nil {
		return err
	}
	r, err := dialRaw(addr)
	if err != nil {
		return err
	}
	defer r.Close()
	if err := rendezvous.Claim(ctx, r, np, ""); err != nil {
		return err
	}
	if err := rendezvous.WaitPaired(ctx, s); err != nil {
		return err
	}
	type result struct {
		sum [32]byte
		err error
	}
	send := func(c *net.TCPConn) ([32]byte, <-chan error) {
		data := make([]byte, n)
		rand.Read(data)
		errc := make(chan error, 1)
		go func() {
			_, err := c.Write(data)
			if err == nil {
				err = c.CloseWrite()
			}
			errc <- err
		}()
		return sha256.Sum256(data), errc
	}
	recv := func(c *net.TCPConn) <-chan result {
		out := make(chan result, 1)
		go func() {
			h := sha256.New()
			_, err := io.Copy(h, c)
			var r result
			copy(r.sum[:], h.Sum(nil))
			r.err = err
			out <- r
		}()
		return out
	}
	upSum, upErr := send(s)
	downSum, downErr := send(r)
	gotUp, gotDown := recv(r), recv(s)
	for _, e := range []<-chan error{upErr, downErr} {
		if err := <-e; err != nil {
			return err
		}
	}
	u, d := <-gotUp, <-gotDown
	if u.err != nil || d.err != nil {
		return fmt.Errorf("reading: %v, %v", u.err, d.err)
	}
	if !bytes.Equal(u.sum[:], upSum[:]) || !bytes.Equal(d.sum[:], downSum[:]) {
		return fmt.Errorf("data changed in transit")
	}
	return nil
}
