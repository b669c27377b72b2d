package relay_test

import (
	"context"
	"net"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/bob-p2p/bob/internal/relaytest"
	"github.com/bob-p2p/bob/relay"
	"github.com/bob-p2p/bob/relay/rendezvous"
)

// testConfig is relaytest's configuration with timeouts short enough for
// tests that wait for them.
func testConfig() relay.Config {
	cfg := relaytest.Config()
	// Long enough that a loaded machine never cuts a well-behaved client.
	cfg.HelloTimeout = time.Second
	cfg.WaitTimeout = 3 * time.Second
	cfg.IdleTimeout = 3 * time.Second
	return cfg
}

func dial(t testing.TB, addr string) *net.TCPConn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("dialing the relay: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c.(*net.TCPConn)
}

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// open connects a sender and opens nameplate ("" for the lowest free one).
func open(t testing.TB, addr, nameplate string) (*net.TCPConn, string) {
	t.Helper()
	c := dial(t, addr)
	got, err := rendezvous.Open(ctxT(t), c, nameplate, "")
	if err != nil {
		t.Fatalf("Open(%q): %v", nameplate, err)
	}
	return c, got
}

// pairUp opens a nameplate and claims it, returning both ends of the pipe.
func pairUp(t testing.TB, addr string) (sender, receiver *net.TCPConn) {
	t.Helper()
	s, np := open(t, addr, "")
	r := dial(t, addr)
	if err := rendezvous.Claim(ctxT(t), r, np, ""); err != nil {
		t.Fatalf("Claim(%s): %v", np, err)
	}
	if err := rendezvous.WaitPaired(ctxT(t), s); err != nil {
		t.Fatalf("WaitPaired: %v", err)
	}
	return s, r
}

// metric returns the value of a metric of srv; labels are name=value pairs.
func metric(t testing.TB, srv *relay.Server, name string, labels ...string) float64 {
	t.Helper()
	families, err := srv.Registry().Gather()
	if err != nil {
		t.Fatalf("gathering metrics: %v", err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			matched := 0
			for _, kv := range labels {
				k, v, _ := strings.Cut(kv, "=")
				for _, l := range m.GetLabel() {
					if l.GetName() == k && l.GetValue() == v {
						matched++
					}
				}
			}
			if matched != len(labels) {
				continue
			}
			switch {
			case m.Gauge != nil:
				return m.Gauge.GetValue()
			case m.Counter != nil:
				return m.Counter.GetValue()
			}
		}
	}
	t.Fatalf("no metric %s%v", name, labels)
	return 0
}

// eventually polls cond for a bounded time and reports whether it held.
func eventually(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func waitMetric(t testing.TB, srv *relay.Server, want float64, name string, labels ...string) {
	t.Helper()
	if !eventually(10*time.Second, func() bool { return metric(t, srv, name, labels...) == want }) {
		t.Fatalf("%s%v = %v, want %v", name, labels, metric(t, srv, name, labels...), want)
	}
}

// openFDs counts this process's open file descriptors, or -1 where that
// cannot be read.
func openFDs() int {
	if runtime.GOOS != "linux" {
		return -1
	}
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return -1
	}
	return len(entries)
}
