// Package relaytest starts real bob relays on the loopback interface for
// other packages' tests.
package relaytest

import (
	"context"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/bob-p2p/bob/relay"
)

// Start runs a relay with test-friendly limits on 127.0.0.1 and returns its
// address. The relay is shut down, and checked to have stopped cleanly,
// when the test ends.
func Start(t testing.TB) string {
	t.Helper()
	addr, _ := StartConfig(t, Config())
	return addr
}

// Config returns the limits Start uses: the defaults, with per-address
// limits off (every test client is 127.0.0.1) and short timeouts so that
// a test never waits long.
func Config() relay.Config {
	cfg := relay.DefaultConfig()
	cfg.MaxConnsPerIP = -1
	cfg.PerIPBurst = -1
	cfg.WaitingBurst = -1 // tests open many senders at once
	cfg.HelloTimeout = 5 * time.Second
	cfg.WaitTimeout = 30 * time.Second
	cfg.IdleTimeout = 30 * time.Second
	cfg.ShutdownGrace = time.Second
	return cfg
}

// StartConfig runs a relay with cfg on 127.0.0.1 and returns its address
// and the server, for its metrics. If cfg.Logger is nil, the relay logs
// warnings and errors to the test's output.
func StartConfig(t testing.TB, cfg relay.Config) (addr string, srv *relay.Server) {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("relaytest: listening on 127.0.0.1: %v", err)
	}
	srv = relay.New(cfg)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("relaytest: relay stopped with an error: %v", err)
		}
	})
	return ln.Addr().String(), srv
}
