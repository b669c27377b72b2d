package relay_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	"golang.org/x/time/rate"

	"github.com/bob-p2p/bob/internal/relaytest"
	"github.com/bob-p2p/bob/relay"
	"github.com/bob-p2p/bob/relay/rendezvous"
)

func TestPairAndForwardBothWays(t *testing.T) {
	addr, srv := relaytest.StartConfig(t, testConfig())
	s, r := pairUp(t, addr)
	waitMetric(t, srv, 1, "bob_relay_pairs")
	if got := metric(t, srv, "bob_relay_pairings_total"); got != 1 {
		t.Errorf("bob_relay_pairings_total = %v, want 1", got)
	}

	up := make([]byte, 3<<20+17) // several chunks and a ragged end
	down := make([]byte, 100<<10)
	rand.Read(up)
	rand.Read(down)
	errc := make(chan error, 2)
	go func() { // sender writes, then half-closes and reads the reply
		if _, err := s.Write(up); err != nil {
			errc <- err
			return
		}
		errc <- s.CloseWrite()
	}()
	go func() {
		if _, err := r.Write(down); err != nil {
			errc <- err
			return
		}
		errc <- r.CloseWrite()
	}()
	gotUp, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("receiver reading: %v", err)
	}
	gotDown, err := io.ReadAll(s)
	if err != nil {
		t.Fatalf("sender reading: %v", err)
	}
	for range 2 {
		if err := <-errc; err != nil {
			t.Fatal(err)
		}
	}
	if !bytes.Equal(gotUp, up) || !bytes.Equal(gotDown, down) {
		t.Fatalf("data changed in transit: up %d/%d bytes, down %d/%d bytes", len(gotUp), len(up), len(gotDown), len(down))
	}
	waitMetric(t, srv, 0, "bob_relay_pairs")
	waitMetric(t, srv, 0, "bob_relay_connections")
	if got, want := metric(t, srv, "bob_relay_bytes_total"), float64(len(up)+len(down)); got != want {
		t.Errorf("bob_relay_bytes_total = %v, want %v", got, want)
	}
}

func TestHalfCloseDeliversLastBytes(t *testing.T) {
	addr := relaytest.Start(t)
	s, r := pairUp(t, addr)
	// The sender writes and closes its socket entirely right away: what it
	// wrote must still reach the receiver, followed by a clean end.
	msg := []byte("the last bytes of a transfer")
	if _, err := s.Write(msg); err != nil {
		t.Fatal(err)
	}
	s.Close()
	got, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("receiver reading: %v", err)
	}
	if !bytes.Equal(got, msg) {
		t.Fatalf("receiver got %q, want %q", got, msg)
	}
}

func TestLowestFreeNameplates(t *testing.T) {
	addr, srv := relaytest.StartConfig(t, testConfig())
	var conns []*net.TCPConn
	for i, want := range []string{"1", "2", "3"} {
		c, got := open(t, addr, "")
		if got != want {
			t.Fatalf("sender %d got nameplate %s, want %s", i, got, want)
		}
		conns = append(conns, c)
	}
	// A chosen nameplate is honoured and then skipped by the allocator;
	// one with a leading zero is a different nameplate.
	if _, got := open(t, addr, "5"); got != "5" {
		t.Fatalf("chose nameplate 5, got %s", got)
	}
	if _, got := open(t, addr, "04"); got != "04" {
		t.Fatalf("chose nameplate 04, got %s", got)
	}
	if _, got := open(t, addr, ""); got != "4" {
		t.Fatalf("got nameplate %s, want 4", got)
	}
	if _, got := open(t, addr, ""); got != "6" {
		t.Fatalf("got nameplate %s, want 6 (5 was chosen)", got)
	}
	if _, got := open(t, addr, "1000"); got != "1000" {
		t.Fatalf("chose nameplate 1000, got %s", got)
	}

	// A sender that leaves frees its nameplate for the next one.
	conns[1].Close()
	waitMetric(t, srv, 7, "bob_relay_waiting")
	if _, got := open(t, addr, ""); got != "2" {
		t.Fatalf("after sender 2 left, got nameplate %s, want 2", got)
	}
	if _, got := open(t, addr, ""); got != "7" {
		t.Fatalf("got nameplate %s, want 7", got)
	}
}

func TestErrorReplies(t *testing.T) {
	addr, srv := relaytest.StartConfig(t, testConfig())

	t.Run("unknown nameplate", func(t *testing.T) {
		err := rendezvous.Claim(ctxT(t), dial(t, addr), "77", "")
		if !errors.Is(err, rendezvous.ErrUnknownNameplate) {
			t.Fatalf("Claim of an unopened nameplate: %v, want ErrUnknownNameplate", err)
		}
	})
	t.Run("nameplate taken", func(t *testing.T) {
		open(t, addr, "42")
		_, err := rendezvous.Open(ctxT(t), dial(t, addr), "42", "")
		if !errors.Is(err, rendezvous.ErrNameplateTaken) {
			t.Fatalf("Open of a taken nameplate: %v, want ErrNameplateTaken", err)
		}
	})
	t.Run("second receiver", func(t *testing.T) {
		s, np := open(t, addr, "")
		r := dial(t, addr)
		if err := rendezvous.Claim(ctxT(t), r, np, ""); err != nil {
			t.Fatal(err)
		}
		if err := rendezvous.WaitPaired(ctxT(t), s); err != nil {
			t.Fatal(err)
		}
		err := rendezvous.Claim(ctxT(t), dial(t, addr), np, "")
		if !errors.Is(err, rendezvous.ErrAlreadyClaimed) {
			t.Fatalf("second Claim: %v, want ErrAlreadyClaimed", err)
		}
		// The pair is untouched by the second receiver.
		if _, err := s.Write([]byte("x")); err != nil {
			t.Fatal(err)
		}
		var b [1]byte
		if _, err := io.ReadFull(r, b[:]); err != nil || b[0] != 'x' {
			t.Fatalf("pair broken by a second receiver: %v", err)
		}
	})
	t.Run("version", func(t *testing.T) {
		c := dial(t, addr)
		hello, _ := rendezvous.AppendHello(nil, rendezvous.Hello{Role: rendezvous.RoleSend})
		hello[3] = rendezvous.Version + 1
		c.Write(hello)
		reply, err := rendezvous.ReadReply(c)
		if err != nil || !errors.Is(reply.Err, rendezvous.ErrVersion) {
			t.Fatalf("hello of another version: reply %+v, %v; want ErrVersion", reply, err)
		}
		expectClosed(t, c)
	})
	t.Run("malformed hello", func(t *testing.T) {
		for _, bad := range []string{
			"BOB\x02S\x00\x01\x00",              // fields shorter than the length
			"BOB\x02X\x00\x02\x00\x00",          // unknown role
			"BOB\x02R\x00\x02\x00\x00",          // receiver without a nameplate
			"BOB\x02S\x00\x04\x02ab\x00",        // nameplate not digits
			"BOB\x02S\x02\x01" + "\x00\x00\x00", // body over the limit
			"GET / HTTP/1.1\r\nHost: x\r\n\r\n", // not bob at all
		} {
			c := dial(t, addr)
			c.Write([]byte(bad))
			reply, err := rendezvous.ReadReply(c)
			if err != nil || !errors.Is(reply.Err, rendezvous.ErrBadRequest) {
				t.Errorf("hello %q: reply %+v, %v; want ErrBadRequest", bad, reply, err)
			}
			expectClosed(t, c)
		}
	})
	if metric(t, srv, "bob_relay_rejected_total", "reason=bad_hello") != 6 ||
		metric(t, srv, "bob_relay_rejected_total", "reason=version") != 1 ||
		metric(t, srv, "bob_relay_rejected_total", "reason=unknown_nameplate") != 1 ||
		metric(t, srv, "bob_relay_rejected_total", "reason=nameplate_taken") != 1 ||
		metric(t, srv, "bob_relay_rejected_total", "reason=already_claimed") != 1 {
		t.Errorf("bob_relay_rejected_total does not count each refusal once")
	}
}

func TestPassword(t *testing.T) {
	cfg := testConfig()
	cfg.Password = "correct horse"
	addr, srv := relaytest.StartConfig(t, cfg)
	for _, pw := range []string{"", "wrong", "correct horse "} {
		_, err := rendezvous.Open(ctxT(t), dial(t, addr), "", pw)
		if !errors.Is(err, rendezvous.ErrBadPassword) {
			t.Errorf("Open with password %q: %v, want ErrBadPassword", pw, err)
		}
		err = rendezvous.Claim(ctxT(t), dial(t, addr), "1", pw)
		if !errors.Is(err, rendezvous.ErrBadPassword) {
			t.Errorf("Claim with password %q: %v, want ErrBadPassword", pw, err)
		}
	}
	s := dial(t, addr)
	np, err := rendezvous.Open(ctxT(t), s, "", "correct horse")
	if err != nil {
		t.Fatalf("Open with the right password: %v", err)
	}
	if err := rendezvous.Claim(ctxT(t), dial(t, addr), np, "correct horse"); err != nil {
		t.Fatalf("Claim with the right password: %v", err)
	}
	if got := metric(t, srv, "bob_relay_rejected_total", "reason=bad_password"); got != 6 {
		t.Errorf("bad_password rejections = %v, want 6", got)
	}
}

func TestLimits(t *testing.T) {
	t.Run("max waiting", func(t *testing.T) {
		cfg := testConfig()
		cfg.MaxWaiting = 2
		addr, _ := relaytest.StartConfig(t, cfg)
		open(t, addr, "")
		open(t, addr, "")
		_, err := rendezvous.Open(ctxT(t), dial(t, addr), "", "")
		if !errors.Is(err, rendezvous.ErrRelayFull) {
			t.Fatalf("third waiting sender: %v, want ErrRelayFull", err)
		}
		// A receiver still gets through: it does not wait.
		if err := rendezvous.Claim(ctxT(t), dial(t, addr), "1", ""); err != nil {
			t.Fatalf("receiver at a full relay: %v", err)
		}
	})
	t.Run("max conns", func(t *testing.T) {
		cfg := testConfig()
		cfg.MaxConns = 2
		thirdSenderRefused(t, cfg, rendezvous.ErrRelayFull, "full")
	})
	t.Run("per-IP conns", func(t *testing.T) {
		cfg := testConfig()
		cfg.MaxConnsPerIP = 1
		addr, srv := relaytest.StartConfig(t, cfg)
		c, _ := open(t, addr, "")
		_, err := rendezvous.Open(ctxT(t), dial(t, addr), "", "")
		if !errors.Is(err, rendezvous.ErrRateLimited) {
			t.Fatalf("second connection from one address: %v, want ErrRateLimited", err)
		}
		c.Close()
		waitMetric(t, srv, 0, "bob_relay_connections")
		if _, err := rendezvous.Open(ctxT(t), dial(t, addr), "", ""); err != nil {
			t.Fatalf("after the first connection closed: %v", err)
		}
	})
	t.Run("per-IP rate", func(t *testing.T) {
		cfg := testConfig()
		cfg.PerIPRate = 0.001
		cfg.PerIPBurst = 2
		addr, srv := relaytest.StartConfig(t, cfg)
		open(t, addr, "")
		open(t, addr, "")
		_, err := rendezvous.Open(ctxT(t), dial(t, addr), "", "")
		if !errors.Is(err, rendezvous.ErrRateLimited) {
			t.Fatalf("connection over the rate: %v, want ErrRateLimited", err)
		}
		if got := metric(t, srv, "bob_relay_rejected_total", "reason=rate"); got != 1 {
			t.Errorf("rate rejections = %v, want 1", got)
		}
	})
}

func TestTimeouts(t *testing.T) {
	cfg := testConfig()
	cfg.WaitTimeout = 200 * time.Millisecond
	cfg.IdleTimeout = 200 * time.Millisecond
	addr, srv := relaytest.StartConfig(t, cfg)

	t.Run("hello", func(t *testing.T) {
		c := dial(t, addr)
		c.Write([]byte("BOB\x01")) // half a hello, then silence
		expectClosed(t, c)
		waitMetric(t, srv, 1, "bob_relay_timeouts_total", "phase=hello")
	})
	t.Run("waiting", func(t *testing.T) {
		s, _ := open(t, addr, "")
		if err := rendezvous.WaitPaired(ctxT(t), s); !errors.Is(err, rendezvous.ErrTimedOut) {
			t.Fatalf("WaitPaired with no receiver: %v, want ErrTimedOut", err)
		}
		waitMetric(t, srv, 1, "bob_relay_timeouts_total", "phase=waiting")
	})
	t.Run("idle", func(t *testing.T) {
		cfg := testConfig()
		cfg.IdleTimeout = time.Second
		addr, srv := relaytest.StartConfig(t, cfg)
		s, r := pairUp(t, addr)
		// A pair that trickles bytes one way outlives the idle timeout
		// (with a wide margin for a loaded machine)...
		for range 15 {
			time.Sleep(cfg.IdleTimeout / 10)
			if _, err := s.Write([]byte("x")); err != nil {
				t.Fatalf("active pair cut: %v", err)
			}
			var b [1]byte
			if _, err := io.ReadFull(r, b[:]); err != nil {
				t.Fatalf("active pair cut: %v", err)
			}
		}
		// ...and one that goes quiet is cut.
		expectClosed(t, s)
		expectClosed(t, r)
		waitMetric(t, srv, 1, "bob_relay_timeouts_total", "phase=idle")
	})
}

func TestContextCancelsWait(t *testing.T) {
	addr := relaytest.Start(t)
	s, _ := open(t, addr, "")
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- rendezvous.WaitPaired(ctx, s) }()
	time.Sleep(20 * time.Millisecond)
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("WaitPaired after cancel: %v, want context.Canceled", err)
	}
	ctx, cancel = context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := rendezvous.WaitPaired(ctx, s); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("WaitPaired past its deadline: %v, want context.DeadlineExceeded", err)
	}
}

func TestGracefulShutdown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := testConfig()
	cfg.ShutdownGrace = 5 * time.Second
	srv := relay.New(cfg)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	addr := ln.Addr().String()

	s, r := pairUp(t, addr)
	waiter, _ := open(t, addr, "")
	cancel()

	// The waiting sender is told and dropped, new connections are refused...
	if err := rendezvous.WaitPaired(ctxT(t), waiter); !errors.Is(err, rendezvous.ErrShuttingDown) {
		t.Fatalf("waiting sender at shutdown: %v, want ErrShuttingDown", err)
	}
	expectClosed(t, waiter)
	if !eventually(5*time.Second, func() bool {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
		}
		return err != nil
	}) {
		t.Fatal("the relay still accepts connections after shutdown began")
	}
	// ...while the pair goes on until it is done.
	msg := []byte("still flowing during shutdown")
	if _, err := s.Write(msg); err != nil {
		t.Fatal(err)
	}
	s.CloseWrite()
	got, err := io.ReadAll(r)
	if err != nil || !bytes.Equal(got, msg) {
		t.Fatalf("pair during shutdown: got %q, %v", got, err)
	}
	r.Close()
	s.Close()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Serve: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return after the last pair ended")
	}
}

func TestShutdownGraceCutsPairs(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := testConfig()
	cfg.ShutdownGrace = 100 * time.Millisecond
	srv := relay.New(cfg)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	s, r := pairUp(t, ln.Addr().String())
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Serve: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return after the grace period")
	}
	expectClosed(t, s)
	expectClosed(t, r)
	if got := metric(t, srv, "bob_relay_connections"); got != 0 {
		t.Errorf("bob_relay_connections = %v after shutdown, want 0", got)
	}
}

func TestMetricsHandler(t *testing.T) {
	cfg := testConfig()
	cfg.LogLevel = new(slog.LevelVar)
	addr, srv := relaytest.StartConfig(t, cfg)
	pairUp(t, addr)
	h := srv.MetricsHandler()

	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	body := rec.Body.String()
	for _, name := range []string{"bob_relay_connections 2", "bob_relay_waiting 0", "bob_relay_pairs 1",
		"bob_relay_bytes_total", "bob_relay_pairings_total 1", `bob_relay_rejected_total{reason="full"} 0`,
		`bob_relay_timeouts_total{phase="idle"} 0`, "go_goroutines", "process_open_fds"} {
		if !strings.Contains(body, name) {
			t.Errorf("/metrics lacks %q", name)
		}
	}

	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, fromLoopback(httptest.NewRequest(http.MethodPut, "/loglevel", strings.NewReader("debug\n"))))
	if rec.Code != http.StatusOK || cfg.LogLevel.Level() != slog.LevelDebug {
		t.Fatalf("PUT /loglevel debug: %d %q, level %v", rec.Code, rec.Body, cfg.LogLevel.Level())
	}
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/loglevel", nil))
	if strings.TrimSpace(rec.Body.String()) != "DEBUG" {
		t.Fatalf("GET /loglevel = %q, want DEBUG", rec.Body)
	}
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, fromLoopback(httptest.NewRequest(http.MethodPut, "/loglevel", strings.NewReader("loud"))))
	if rec.Code != http.StatusBadRequest || cfg.LogLevel.Level() != slog.LevelDebug {
		t.Fatalf("PUT /loglevel loud: %d, level %v; want 400 and no change", rec.Code, cfg.LogLevel.Level())
	}
}

func TestServersShareNoState(t *testing.T) {
	a, srvA := relaytest.StartConfig(t, testConfig())
	_, srvB := relaytest.StartConfig(t, testConfig())
	open(t, a, "")
	if metric(t, srvA, "bob_relay_waiting") != 1 || metric(t, srvB, "bob_relay_waiting") != 0 {
		t.Fatal("one relay's metrics show in another's registry")
	}
}

// expectClosed checks that the relay closes c within a bounded time.
func expectClosed(t testing.TB, c net.Conn) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, err := io.Copy(io.Discard, c)
	if errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatal("the relay did not close the connection")
	}
}

func TestIPv6(t *testing.T) {
	ln, err := net.Listen("tcp", "[::1]:0")
	if err != nil {
		t.Skipf("no IPv6 loopback here: %v", err)
	}
	srv := relay.New(testConfig())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	}()
	s, r := pairUp(t, ln.Addr().String())
	if _, err := s.Write([]byte("v6")); err != nil {
		t.Fatal(err)
	}
	s.CloseWrite()
	got, err := io.ReadAll(r)
	if err != nil || string(got) != "v6" {
		t.Fatalf("over IPv6: got %q, %v", got, err)
	}
	r.Close()
	s.Close()
}

// TestPairedNameplateStaysVoid: after a pair on a nameplate ends (say the
// receiver's guess failed and it hung up), nobody can reopen the nameplate
// as a fake sender for the real receiver, and no new sender is given it.
func TestPairedNameplateStaysVoid(t *testing.T) {
	addr, srv := relaytest.StartConfig(t, testConfig())
	s, np := open(t, addr, "1")
	r := dial(t, addr)
	if err := rendezvous.Claim(ctxT(t), r, np, ""); err != nil {
		t.Fatalf("Claim: %v", err)
	}
	if err := rendezvous.WaitPaired(ctxT(t), s); err != nil {
		t.Fatalf("WaitPaired: %v", err)
	}
	s.Close()
	r.Close()
	waitMetric(t, srv, 0, "bob_relay_pairs")

	_, err := rendezvous.Open(ctxT(t), dial(t, addr), np, "")
	if !errors.Is(err, rendezvous.ErrNameplateTaken) {
		t.Fatalf("reopening paired nameplate %s: %v, want ErrNameplateTaken", np, err)
	}
	if err := rendezvous.Claim(ctxT(t), dial(t, addr), np, ""); !errors.Is(err, rendezvous.ErrUnknownNameplate) {
		t.Errorf("claiming paired nameplate %s again: %v, want ErrUnknownNameplate", np, err)
	}
	if _, got := open(t, addr, ""); got == np {
		t.Errorf("a new sender was given the voided nameplate %s", np)
	}
}

// TestWaitingRate: new waiting senders are limited relay-wide, whatever
// their addresses, while receivers still get through.
func TestWaitingRate(t *testing.T) {
	cfg := testConfig()
	cfg.WaitingRate = rate.Every(time.Hour)
	cfg.WaitingBurst = 2
	addr := thirdSenderRefused(t, cfg, rendezvous.ErrRateLimited, "waiting_rate")
	if err := rendezvous.Claim(ctxT(t), dial(t, addr), "1", ""); err != nil {
		t.Errorf("a receiver while senders are rate limited: %v", err)
	}
}

func fromLoopback(r *http.Request) *http.Request {
	r.RemoteAddr = "[::1]:40000"
	return r
}

// TestLogLevelNeedsLoopbackOrToken: a client elsewhere on the network
// cannot turn debug logs (which name clients and nameplates) on, unless
// it has the admin token.
func TestLogLevelNeedsLoopbackOrToken(t *testing.T) {
	put := func(h http.Handler, remote, token string) int {
		r := httptest.NewRequest(http.MethodPut, "/loglevel", strings.NewReader("debug"))
		r.RemoteAddr = remote
		if token != "" {
			r.Header.Set("Authorization", "Bearer "+token)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		return rec.Code
	}
	t.Run("no token", func(t *testing.T) {
		cfg := testConfig()
		cfg.LogLevel = new(slog.LevelVar)
		h := relay.New(cfg).MetricsHandler()
		if code := put(h, "203.0.113.9:5000", ""); code != http.StatusForbidden || cfg.LogLevel.Level() != slog.LevelInfo {
			t.Errorf("PUT from afar: %d, level %v; want 403 and no change", code, cfg.LogLevel.Level())
		}
		if code := put(h, "127.0.0.1:5000", ""); code != http.StatusOK || cfg.LogLevel.Level() != slog.LevelDebug {
			t.Errorf("PUT from loopback: %d, level %v; want 200 and debug", code, cfg.LogLevel.Level())
		}
	})
	t.Run("token", func(t *testing.T) {
		cfg := testConfig()
		cfg.LogLevel = new(slog.LevelVar)
		cfg.AdminToken = "s3cret-token"
		h := relay.New(cfg).MetricsHandler()
		for _, c := range []struct{ remote, token string }{
			{"127.0.0.1:5000", ""}, {"203.0.113.9:5000", "wrong"}, {"203.0.113.9:5000", "s3cret-tokenX"},
		} {
			if code := put(h, c.remote, c.token); code != http.StatusForbidden || cfg.LogLevel.Level() != slog.LevelInfo {
				t.Errorf("PUT from %s with token %q: %d, level %v; want 403 and no change", c.remote, c.token, code, cfg.LogLevel.Level())
			}
		}
		if code := put(h, "203.0.113.9:5000", "s3cret-token"); code != http.StatusOK || cfg.LogLevel.Level() != slog.LevelDebug {
			t.Errorf("PUT with the token: %d, level %v; want 200 and debug", code, cfg.LogLevel.Level())
		}
	})
}

// TestMetricsFrom: with MetricsFrom set, only those networks are served.
func TestMetricsFrom(t *testing.T) {
	cfg := testConfig()
	cfg.MetricsFrom = []netip.Prefix{netip.MustParsePrefix("10.0.2.2/32"), netip.MustParsePrefix("127.0.0.0/8")}
	h := relay.New(cfg).MetricsHandler()
	for remote, want := range map[string]int{
		"10.0.2.2:4000": http.StatusOK, "127.0.0.1:4000": http.StatusOK,
		"[::ffff:10.0.2.2]:4000": http.StatusOK, "10.0.2.3:4000": http.StatusForbidden,
		"[2001:db8::1]:4000": http.StatusForbidden,
	} {
		for _, path := range []string{"/metrics", "/loglevel"} {
			r := httptest.NewRequest(http.MethodGet, path, nil)
			r.RemoteAddr = remote
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)
			if rec.Code != want {
				t.Errorf("GET %s from %s: %d, want %d", path, remote, rec.Code, want)
			}
		}
	}
}

// TestPairsEndedByKind: a pair that forwards a handshake's worth and hangs
// up, as peers that go direct do, counts as introduced; one that moves a
// file counts as relayed.
func TestPairsEndedByKind(t *testing.T) {
	addr, srv := relaytest.StartConfig(t, testConfig())
	run := func(n int) {
		t.Helper()
		s, r := pairUp(t, addr)
		done := make(chan error, 1)
		go func() {
			_, err := io.CopyN(io.Discard, r, int64(n))
			done <- err
		}()
		if _, err := s.Write(make([]byte, n)); err != nil {
			t.Fatalf("sending %d bytes: %v", n, err)
		}
		if err := <-done; err != nil {
			t.Fatalf("receiving %d bytes: %v", n, err)
		}
		s.Close()
		r.Close()
		waitMetric(t, srv, 0, "bob_relay_pairs")
	}
	run(4 << 10)
	if got := metric(t, srv, "bob_relay_pairs_ended_total", "kind=introduced"); got != 1 {
		t.Errorf("introduced pairs after a 4 KiB pair = %v, want 1", got)
	}
	run(64 << 10)
	run(1 << 20)
	if got := metric(t, srv, "bob_relay_pairs_ended_total", "kind=relayed"); got != 2 {
		t.Errorf("relayed pairs after 64 KiB and 1 MiB pairs = %v, want 2", got)
	}
	if got := metric(t, srv, "bob_relay_pairs_ended_total", "kind=introduced"); got != 1 {
		t.Errorf("introduced pairs = %v, want still 1", got)
	}
	if got, want := metric(t, srv, "bob_relay_bytes_total"), float64(4<<10+64<<10+1<<20); got != want {
		t.Errorf("bob_relay_bytes_total = %v, want %v", got, want)
	}
}

// thirdSenderRefused opens two senders on a relay with cfg and checks that
// a third is refused with want, counted under reason. It returns the
// relay's address.
func thirdSenderRefused(t *testing.T, cfg relay.Config, want error, reason string) string {
	t.Helper()
	addr, srv := relaytest.StartConfig(t, cfg)
	open(t, addr, "")
	open(t, addr, "")
	if _, err := rendezvous.Open(ctxT(t), dial(t, addr), "", ""); !errors.Is(err, want) {
		t.Fatalf("third sender: %v, want %v", err, want)
	}
	if got := metric(t, srv, "bob_relay_rejected_total", "reason="+reason); got != 1 {
		t.Errorf("%s rejections = %v, want 1", reason, got)
	}
	return addr
}
