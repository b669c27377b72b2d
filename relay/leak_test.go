package relay_test

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/bob-p2p/bob/internal/relaytest"
	"github.com/bob-p2p/bob/relay"
	"github.com/bob-p2p/bob/relay/rendezvous"
)

// badClient misbehaves on conn in one way, and returns once the relay has
// closed the connection or the client has dropped it.
type badClient struct {
	name string
	run  func(ctx context.Context, addr string) error
}

// awaitClose waits, boundedly, for the relay to close c, then closes it.
func awaitClose(c net.Conn) error {
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, err := io.Copy(io.Discard, c)
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return errors.New("the relay never closed the connection")
	}
	return nil
}

func dialRaw(addr string) (*net.TCPConn, error) {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	return c.(*net.TCPConn), nil
}

var badClients = []badClient{
	{"silent", func(_ context.Context, addr string) error {
		c, err := dialRaw(addr)
		if err != nil {
			return err
		}
		return awaitClose(c)
	}},
	{"half a hello", func(_ context.Context, addr string) error {
		c, err := dialRaw(addr)
		if err != nil {
			return err
		}
		hello, _ := rendezvous.AppendHello(nil, rendezvous.Hello{Role: rendezvous.RoleReceive, Nameplate: "12345"})
		if _, err := c.Write(hello[:len(hello)/2]); err != nil {
			c.Close()
			return err
		}
		return awaitClose(c)
	}},
	{"garbage", func(_ context.Context, addr string) error {
		c, err := dialRaw(addr)
		if err != nil {
			return err
		}
		junk := make([]byte, 64)
		rand.Read(junk)
		c.Write(junk) //nolint:errcheck // the relay may already have hung up
		return awaitClose(c)
	}},
	{"sender hello then vanish", func(_ context.Context, addr string) error {
		c, err := dialRaw(addr)
		if err != nil {
			return err
		}
		hello, _ := rendezvous.AppendHello(nil, rendezvous.Hello{Role: rendezvous.RoleSend})
		c.Write(hello) //nolint:errcheck // vanishing anyway
		return c.Close()
	}},
	{"receiver hello then vanish", func(_ context.Context, addr string) error {
		c, err := dialRaw(addr)
		if err != nil {
			return err
		}
		hello, _ := rendezvous.AppendHello(nil, rendezvous.Hello{Role: rendezvous.RoleReceive, Nameplate: "99999"})
		c.Write(hello) //nolint:errcheck // vanishing anyway
		return c.Close()
	}},
	{"waiting sender vanishes", func(ctx context.Context, addr string) error {
		c, err := dialRaw(addr)
		if err != nil {
			return err
		}
		defer c.Close()
		_, err = rendezvous.Open(ctx, c, "", "")
		return err
	}},
	{"pair then one side resets", func(ctx context.Context, addr string) error {
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
		if err := rendezvous.Claim(ctx, r, np, ""); err != nil {
			r.Close()
			return err
		}
		if err := rendezvous.WaitPaired(ctx, s); err != nil {
			r.Close()
			return err
		}
		if _, err := s.Write(make([]byte, 4096)); err != nil {
			r.Close()
			return err
		}
		r.SetLinger(0) // close with a reset
		r.Close()
		return awaitClose(s)
	}},
}

func TestNoLeaks(t *testing.T) {
	cfg := testConfig()
	// Long enough that well-behaved clients in the crowd are never cut
	// under -race on two cores; the silent ones wait this long.
	cfg.HelloTimeout = time.Second
	perKind := 150
	if testing.Short() {
		perKind = 30
	}
	srv := checkNoLeaks(t, cfg, badClients, perKind)
	t.Logf("%d misbehaving clients; timeouts: hello %v; rejected bad_hello %v; unknown_nameplate %v",
		perKind*len(badClients),
		metric(t, srv, "bob_relay_timeouts_total", "phase=hello"),
		metric(t, srv, "bob_relay_rejected_total", "reason=bad_hello"),
		metric(t, srv, "bob_relay_rejected_total", "reason=unknown_nameplate"))
}

// TestNoLeaksWhenRefusing floods a small relay: refused connections, with
// or without a reply, must be closed and forgotten too.
func TestNoLeaksWhenRefusing(t *testing.T) {
	cfg := testConfig()
	cfg.MaxConns = 10
	cfg.MaxWaiting = 5
	flood := badClient{"flood", func(ctx context.Context, addr string) error {
		c, err := dialRaw(addr)
		if err != nil {
			return err
		}
		_, err = rendezvous.Open(ctx, c, "", "")
		if err == nil {
			time.Sleep(50 * time.Millisecond) // hold the place a while
		}
		return c.Close()
	}}
	srv := checkNoLeaks(t, cfg, []badClient{flood}, 600)
	t.Logf("refused: full %v, waiting_full %v", metric(t, srv, "bob_relay_rejected_total", "reason=full"),
		metric(t, srv, "bob_relay_rejected_total", "reason=waiting_full"))
	if metric(t, srv, "bob_relay_rejected_total", "reason=full") == 0 {
		t.Error("the flood was never refused for a full relay")
	}
}

// checkNoLeaks runs perKind of each client against a relay with cfg, then
// checks that the relay's connections, this process's descriptors and its
// goroutines all return to where they were.
func checkNoLeaks(t *testing.T, cfg relay.Config, clients []badClient, perKind int) *relay.Server {
	addr, srv := relaytest.StartConfig(t, cfg)

	// Warm up what the runtime creates once (splice pipes, timers).
	s, r := pairUp(t, addr)
	s.Close()
	r.Close()
	waitMetric(t, srv, 0, "bob_relay_connections")
	settle()
	baseFDs := openFDs()
	ignore := goleak.IgnoreCurrent()

	ctx := ctxT(t)
	var wg sync.WaitGroup
	errs := make(chan error, perKind*len(clients))
	for _, bc := range clients {
		for range perKind {
			wg.Go(func() {
				if err := bc.run(ctx, addr); err != nil {
					errs <- fmt.Errorf("%s: %w", bc.name, err)
				}
			})
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}

	waitMetric(t, srv, 0, "bob_relay_connections")
	waitMetric(t, srv, 0, "bob_relay_waiting")
	waitMetric(t, srv, 0, "bob_relay_pairs")
	if baseFDs >= 0 {
		var fds int
		if !eventually(10*time.Second, func() bool { settle(); fds = openFDs(); return fds <= baseFDs }) {
			t.Errorf("open file descriptors: %d, baseline %d", fds, baseFDs)
		}
	}
	var leak error
	if !eventually(10*time.Second, func() bool { leak = goleak.Find(ignore); return leak == nil }) {
		t.Errorf("goroutines leaked: %v", leak)
	}
	return srv
}

// settle runs the collector so that nothing a collection would close counts
// as leaked (the relay's splice pipes no longer need it: see
// TestSplicePipesCloseWhenPairsEnd).
func settle() {
	runtime.GC()
	runtime.GC()
}
