package session

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/bob-p2p/bob/internal/codes"
	"github.com/bob-p2p/bob/internal/relaytest"
	"github.com/bob-p2p/bob/relay"
	"github.com/bob-p2p/bob/relay/rendezvous"
	"github.com/bob-p2p/bob/transfer"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// recorder keeps a side's events.
type recorder struct {
	mu  sync.Mutex
	evs []transfer.Event
}

func (r *recorder) add(e transfer.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.evs = append(r.evs, e)
}

func eventsOf[T transfer.Event](r *recorder) []T {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []T
	for _, e := range r.evs {
		if t, ok := e.(T); ok {
			out = append(out, t)
		}
	}
	return out
}

// logBuffer is a logger whose lines a test can read.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func (l *logBuffer) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(l, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type sides struct {
	send, recv Config
	sendEvents recorder
	recvEvents recorder
	src, dst   string
	data       []byte
}

// newSides prepares a sender of one random file and a receiver into a
// fresh folder, meeting at relay, with discovery off (tests must not
// multicast outside the namespaces they make).
func newSides(t *testing.T, relay string, size int) *sides {
	t.Helper()
	s := &sides{src: t.TempDir(), dst: t.TempDir(), data: make([]byte, size)}
	rand.Read(s.data)
	if err := os.WriteFile(filepath.Join(s.src, "file.bin"), s.data, 0o644); err != nil {
		t.Fatal(err)
	}
	s.send = Config{Relays: []string{relay}, NoDiscovery: true, Events: s.sendEvents.add}
	s.recv = Config{Relays: []string{relay}, NoDiscovery: true, Events: s.recvEvents.add}
	return s
}

// onLoopback lets both sides go direct over 127.0.0.1, as two machines on
// one network would over their addresses.
func (s *sides) onLoopback() {
	for _, c := range []*Config{&s.send, &s.recv} {
		c.directAddrs = []netip.Addr{netip.MustParseAddr("127.0.0.1")}
		c.loopbackOK = true
	}
}

const testCode = "4-purple-monkey-dish"

// run runs both sides to the end and returns their errors.
func (s *sides) run(t *testing.T) (sendErr, recvErr error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	code, err := codes.Parse(testCode)
	if err != nil {
		t.Fatal(err)
	}
	sent := make(chan error, 1)
	go func() {
		sent <- Send(ctx, s.send, code, transfer.SendOptions{Paths: []string{filepath.Join(s.src, "file.bin")}})
	}()
	waitForCode(t, &s.sendEvents)
	recvErr = Receive(ctx, s.recv, code, transfer.ReceiveOptions{
		OutDir: s.dst,
		Accept: func(context.Context, transfer.OfferReceived) (bool, error) { return true, nil },
	})
	if recvErr != nil {
		cancel()
	}
	return <-sent, recvErr
}

func waitForCode(t *testing.T, r *recorder) {
	t.Helper()
	for range 500 {
		if len(eventsOf[transfer.CodeReady](r)) > 0 {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("the sender never showed its code")
}

// mustRun runs both sides and fails the test if either fails.
func (s *sides) mustRun(t *testing.T) {
	t.Helper()
	if se, re := s.run(t); se != nil || re != nil {
		t.Fatalf("send: %v, receive: %v", se, re)
	}
}

// mustTransfer runs both sides and checks the file arrived whole.
func (s *sides) mustTransfer(t *testing.T) {
	t.Helper()
	s.mustRun(t)
	s.checkReceived(t)
}

func (s *sides) checkReceived(t *testing.T) {
	t.Helper()
	got, err := os.ReadFile(filepath.Join(s.dst, "file.bin"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, s.data) {
		t.Fatalf("received %d bytes that differ from the %d sent", len(got), len(s.data))
	}
}

// wantVia checks which path a side's transfer took.
func wantVia(t *testing.T, r *recorder, via string) {
	t.Helper()
	if d := onlyDone(t, r); d.Via != via {
		t.Errorf("via %q, want %s", d.Via, via)
	}
}

func onlyDone(t *testing.T, r *recorder) transfer.Done {
	t.Helper()
	d := eventsOf[transfer.Done](r)
	if len(d) != 1 {
		t.Fatalf("%d done events", len(d))
	}
	return d[0]
}

func TestRelayPathWhenDirectIsOff(t *testing.T) {
	relay := relaytest.Start(t)
	s := newSides(t, relay, 300_000)
	s.send.NoDirect = true
	s.mustTransfer(t)
	for _, r := range []*recorder{&s.sendEvents, &s.recvEvents} {
		d := onlyDone(t, r)
		if d.Via != "relay" || d.Relay != relay {
			t.Errorf("done says via %q relay %q, want relay %s", d.Via, d.Relay, relay)
		}
		p := eventsOf[transfer.PathChosen](r)
		if len(p) != 1 || p[0].Direct || p[0].Relay != relay {
			t.Errorf("path events %+v", p)
		}
	}
}

func TestDirectPathCarriesTheData(t *testing.T) {
	relay, srv := relaytest.StartConfig(t, relaytest.Config())
	s := newSides(t, relay, 4<<20)
	s.onLoopback()
	s.mustTransfer(t)
	for _, r := range []*recorder{&s.sendEvents, &s.recvEvents} {
		if d := onlyDone(t, r); d.Via != "direct" || d.Relay != "" {
			t.Errorf("done says via %q relay %q, want direct", d.Via, d.Relay)
		}
		p := eventsOf[transfer.PathChosen](r)
		if len(p) != 1 || !p[0].Direct || !strings.HasPrefix(p[0].Peer, "127.0.0.1:") {
			t.Errorf("path events %+v", p)
		}
	}
	// The relay carried the handshake and the candidates, not the file.
	if n := relayedBytes(t, srv); n > 64<<10 {
		t.Errorf("the relay forwarded %d bytes of a direct transfer", n)
	}
}

// relayedBytes reads how many bytes the relay forwarded, from its metrics,
// once it has no pair left.
func relayedBytes(t *testing.T, srv *relay.Server) int64 {
	t.Helper()
	var pairs, bytes float64
	for range 300 {
		families, err := srv.Registry().Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range families {
			switch f.GetName() {
			case "bob_relay_pairs":
				pairs = f.GetMetric()[0].GetGauge().GetValue()
			case "bob_relay_bytes_total":
				bytes = f.GetMetric()[0].GetCounter().GetValue()
			}
		}
		if pairs == 0 {
			return int64(bytes)
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("the relay still has a pair")
	return 0
}

// With no address to try, the window passes and the data goes through the
// relay: a firewalled peer costs only the window.
func TestNoDirectPathFallsBackToRelay(t *testing.T) {
	relay := relaytest.Start(t)
	s := newSides(t, relay, 300_000)
	s.onLoopback()
	s.send.directAddrs, s.recv.directAddrs = []netip.Addr{}, []netip.Addr{}
	s.send.DirectWindow = 200 * time.Millisecond
	s.mustTransfer(t)
	wantVia(t, &s.recvEvents, "relay")
}

// A receiver that does not take part (--no-direct) keeps both on the relay.
func TestOneSideWithoutDirectKeepsRelay(t *testing.T) {
	relay := relaytest.Start(t)
	s := newSides(t, relay, 100_000)
	s.onLoopback()
	s.recv.NoDirect = true
	s.mustTransfer(t)
	wantVia(t, &s.sendEvents, "relay")
}

// Peers that both reach the relay over loopback share a machine: they stay
// on the relay and never dial another address.
func TestSameMachineStaysOnRelay(t *testing.T) {
	relay := relaytest.Start(t)
	s := newSides(t, relay, 100_000)
	var logs logBuffer
	s.send.Logger = logs.logger()
	s.mustTransfer(t)
	wantVia(t, &s.sendEvents, "relay")
	if strings.Contains(logs.String(), "could not connect") {
		t.Errorf("a same-machine session dialled candidates:\n%s", logs.String())
	}
}

// A stranger who connects to a side's direct listener is turned away and
// logged, and the session goes on. The receiver here neither dials nor
// offers a direct address, so the stranger is the only
// connection the sender's listener checks: which of two connections a
// sender checks first is up to the scheduler, and a path chosen before a
// stranger is checked leaves nothing to log.
func TestStrangerOnDirectListenerCostsNothing(t *testing.T) {
	relay := relaytest.Start(t)
	s := newSides(t, relay, 200_000)
	s.onLoopback()
	s.recv.loopbackOK, s.recv.directAddrs = false, []netip.Addr{}
	var logs logBuffer
	s.send.Logger = logs.logger()
	var strangers sync.WaitGroup
	defer strangers.Wait()
	var heard atomic.Int64
	s.send.testOnListen = func(a net.Addr) {
		c, err := net.Dial("tcp", a.String())
		if err != nil {
			t.Error(err)
			return
		}
		c.Write(append([]byte{0, 49, 6}, make([]byte, 48)...))
		strangers.Go(func() {
			defer c.Close()
			c.SetReadDeadline(time.Now().Add(10 * time.Second))
			n, _ := io.Copy(io.Discard, c)
			heard.Store(n)
		})
	}
	s.mustTransfer(t)
	strangers.Wait()
	if d := onlyDone(t, &s.recvEvents); d.Via != "relay" {
		t.Errorf("via %q, want relay (the receiver dials no direct address)", d.Via)
	}
	if !strings.Contains(logs.String(), "did not prove it is the peer") {
		t.Errorf("the stranger was not logged:\n%s", logs.String())
	}
	if heard.Load() != 0 {
		t.Errorf("the stranger heard %d bytes", heard.Load())
	}
}

func TestWrongCodeOverSession(t *testing.T) {
	relay := relaytest.Start(t)
	s := newSides(t, relay, 1000)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	code, _ := codes.Parse(testCode)
	sent := make(chan error, 1)
	go func() {
		sent <- Send(ctx, s.send, code, transfer.SendOptions{Paths: []string{filepath.Join(s.src, "file.bin")}})
	}()
	waitForCode(t, &s.sendEvents)
	wrong, _ := codes.Parse("4-purple-monkey-wrong")
	recvErr := Receive(ctx, s.recv, wrong, transfer.ReceiveOptions{OutDir: s.dst})
	var w WrongCodeError
	if !errors.As(recvErr, &w) || !errors.As(<-sent, &w) {
		t.Errorf("receiver: %v; want a wrong-code error on both sides", recvErr)
	}
}

func TestUnknownNameplateExplains(t *testing.T) {
	relay := relaytest.Start(t)
	s := newSides(t, relay, 10)
	code, _ := codes.Parse("77-purple-monkey")
	err := Receive(context.Background(), s.recv, code, transfer.ReceiveOptions{OutDir: s.dst})
	if !errors.Is(err, rendezvous.ErrUnknownNameplate) || !strings.Contains(err.Error(), "the relay the sender's screen shows") {
		t.Errorf("got %v", err)
	}
}

func TestUnreachableRelaySaysWhy(t *testing.T) {
	addr := closedPort(t)
	code, _ := codes.Parse(testCode)
	err := Receive(context.Background(), Config{Relays: []string{addr}, NoDiscovery: true}, code, transfer.ReceiveOptions{OutDir: t.TempDir()})
	var ru *RelayUnreachableError
	if !errors.As(err, &ru) || !strings.Contains(ru.Cause(), "refused") {
		t.Errorf("got %v", err)
	}
}

// A receiver with no relay configured and discovery off looks on this
// machine, and says plainly when no sender is there.
func TestNoRelayNoSenderIsExplained(t *testing.T) {
	addr := closedPort(t)
	code, _ := codes.Parse(testCode)
	err := Receive(context.Background(), Config{LocalRelay: addr, NoDiscovery: true}, code, transfer.ReceiveOptions{OutDir: t.TempDir()})
	var nf *NotFoundError
	if !errors.As(err, &nf) || nf.Nameplate != "4" {
		t.Errorf("got %v", err)
	}
}

// The receiver with no relay configured finds a bob send on this machine
// through its built-in relay.
func TestBuiltInRelayOnThisMachine(t *testing.T) {
	s := newSides(t, "", 50_000)
	s.send.Relays, s.recv.Relays = nil, nil
	s.send.Listen = "127.0.0.1:0"
	// The receiver learns the port from the sender's code screen.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	code, _ := codes.Parse(testCode)
	sent := make(chan error, 1)
	go func() {
		sent <- Send(ctx, s.send, code, transfer.SendOptions{Paths: []string{filepath.Join(s.src, "file.bin")}})
	}()
	waitForCode(t, &s.sendEvents)
	ready := eventsOf[transfer.CodeReady](&s.sendEvents)[0]
	if ready.Relay == "" || !strings.HasPrefix(ready.Relay, "127.0.0.1:") {
		t.Fatalf("the built-in relay on loopback is not shown: %+v", ready)
	}
	s.recv.LocalRelay = ready.Relay
	err := Receive(ctx, s.recv, code, transfer.ReceiveOptions{OutDir: s.dst, Accept: func(context.Context, transfer.OfferReceived) (bool, error) { return true, nil }})
	if err != nil {
		cancel()
	}
	if se := <-sent; se != nil || err != nil {
		t.Fatalf("send: %v, receive: %v", se, err)
	}
	s.checkReceived(t)
}

// openSockets counts this process's sockets (Linux); -1 elsewhere. The
// relay's own splice pipes are the relay's tests' business.
func openSockets() int {
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return -1
	}
	n := 0
	for _, e := range entries {
		if l, err := os.Readlink("/proc/self/fd/" + e.Name()); err == nil && strings.HasPrefix(l, "socket:") {
			n++
		}
	}
	return n
}

// A direct session closes every listener and connection it opened, the
// relay's included, without waiting for a GC.
func TestDirectSessionLeavesNoSockets(t *testing.T) {
	relay := relaytest.Start(t)
	s := newSides(t, relay, 100_000)
	s.onLoopback()
	before := openSockets()
	if before < 0 {
		t.Skip("no /proc/self/fd here")
	}
	s.mustRun(t)
	if d := onlyDone(t, &s.recvEvents); d.Via != "direct" {
		t.Fatalf("via %q", d.Via)
	}
	after := openSockets()
	for i := 0; i < 200 && after > before; i++ { // the relay ends its side of the pair
		time.Sleep(10 * time.Millisecond)
		after = openSockets()
	}
	if after > before {
		t.Errorf("%d sockets before the session, %d after", before, after)
	}
}

// gatedReader yields first, then waits for gate, then yields rest: a
// stream that is still running when the test wants something to happen.
type gatedReader struct {
	first, rest []byte
	gate        <-chan struct{}
	passed      bool
}

func (g *gatedReader) Read(p []byte) (int, error) {
	if len(g.first) > 0 {
		n := copy(p, g.first)
		g.first = g.first[n:]
		return n, nil
	}
	if !g.passed {
		<-g.gate
		g.passed = true
	}
	if len(g.rest) == 0 {
		return 0, io.EOF
	}
	n := copy(p, g.rest)
	g.rest = g.rest[n:]
	return n, nil
}

// A direct path proven after the transfer started on the relay takes it
// over at a record boundary: nothing is lost or repeated, both sides say
// so, and the relay connection is let go.
func TestLateDirectPathTakesOver(t *testing.T) {
	relay, srv := relaytest.StartConfig(t, relaytest.Config())
	data := make([]byte, 6<<20)
	rand.Read(data)
	var sendEvents, recvEvents recorder
	switched := make(chan struct{})
	var once sync.Once
	send := Config{Relays: []string{relay}, NoDiscovery: true, DirectWindow: time.Nanosecond, LateWindow: 10 * time.Second,
		directAddrs: []netip.Addr{netip.MustParseAddr("127.0.0.1")}, loopbackOK: true,
		Events: func(e transfer.Event) {
			sendEvents.add(e)
			if p, ok := e.(transfer.PathChosen); ok && p.Direct {
				once.Do(func() { close(switched) })
			}
		}}
	// The sender's window closes before anything can be proven; the
	// receiver, which dials too, proves the connection late.
	recv := send
	recv.Events = recvEvents.add
	recv.DirectWindow = DefaultDirectWindow
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	code, _ := codes.Parse(testCode)
	var out bytes.Buffer
	sent := make(chan error, 1)
	go func() {
		sent <- Send(ctx, send, code, transfer.SendOptions{Stdin: &gatedReader{first: data[:1<<20], rest: data[1<<20:], gate: switched}})
	}()
	waitForCode(t, &sendEvents)
	recvErr := Receive(ctx, recv, code, transfer.ReceiveOptions{Stdout: &out, Accept: func(context.Context, transfer.OfferReceived) (bool, error) { return true, nil }})
	if recvErr != nil {
		cancel()
	}
	if se := <-sent; se != nil || recvErr != nil {
		t.Fatalf("send: %v, receive: %v", se, recvErr)
	}
	if !bytes.Equal(out.Bytes(), data) {
		t.Fatalf("received %d bytes that differ from the %d sent", out.Len(), len(data))
	}
	for name, r := range map[string]*recorder{"sender": &sendEvents, "receiver": &recvEvents} {
		paths := eventsOf[transfer.PathChosen](r)
		if len(paths) != 2 || paths[0].Direct || !paths[1].Direct || paths[1].Kind != "local" {
			t.Errorf("%s: path events %+v, want the relay and then direct", name, paths)
		}
		if d := onlyDone(t, r); d.Via != "direct" {
			t.Errorf("%s: via %q", name, d.Via)
		}
	}
	// The relay carried the first MiB, not the rest.
	if n := relayedBytes(t, srv); n > 3<<20 {
		t.Errorf("the relay forwarded %d bytes", n)
	}
}

// A server that is not a bob relay is named as such.
func TestNotABobRelay(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var served sync.WaitGroup
	defer served.Wait()
	served.Go(func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		c.Write([]byte("HTTP/1.1 400 Bad Request\r\n\r\n"))
	})
	code, _ := codes.Parse(testCode)
	err = Receive(context.Background(), Config{Relays: []string{ln.Addr().String()}, NoDiscovery: true}, code, transfer.ReceiveOptions{OutDir: t.TempDir()})
	if err == nil || err.Error() != ln.Addr().String()+" is not a bob relay (it answered something else)" {
		t.Errorf("got %v", err)
	}
}

// A private relay and no password: say that it needs one, not that the
// password was refused.
func TestRelayNeedsPassword(t *testing.T) {
	cfg := relaytest.Config()
	cfg.Password = "correct horse"
	relay, _ := relaytest.StartConfig(t, cfg)
	code, _ := codes.Parse(testCode)
	err := Receive(context.Background(), Config{Relays: []string{relay}, NoDiscovery: true}, code, transfer.ReceiveOptions{OutDir: t.TempDir()})
	if !errors.Is(err, rendezvous.ErrBadPassword) || !strings.Contains(err.Error(), "needs a password") {
		t.Errorf("no password: %v", err)
	}
	err = Receive(context.Background(), Config{Relays: []string{relay}, Password: "wrong", NoDiscovery: true}, code, transfer.ReceiveOptions{OutDir: t.TempDir()})
	if !errors.Is(err, rendezvous.ErrBadPassword) || !strings.Contains(err.Error(), "refused the password") {
		t.Errorf("wrong password: %v", err)
	}
}

// closedPort is a loopback address where nothing listens.
func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// TestDroppedHandshakeSaysCodeVoid: a "sender" that pairs and hangs up
// mid-handshake may have spent the code's one guess. The receiver says so and does not try the code again
// (a retry would be refused as an unknown nameplate: the relay voids it).
func TestDroppedHandshakeSaysCodeVoid(t *testing.T) {
	relay := relaytest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	fake, err := net.Dial("tcp", relay)
	if err != nil {
		t.Fatal(err)
	}
	defer fake.Close()
	nameplate, err := rendezvous.Open(ctx, fake, "4", "")
	if err != nil {
		t.Fatal(err)
	}
	var hungUp sync.WaitGroup
	defer hungUp.Wait()
	hungUp.Go(func() {
		if rendezvous.WaitPaired(ctx, fake) != nil {
			return
		}
		fake.Close()
	})
	code, _ := codes.Parse(nameplate + "-purple-monkey-dish")
	err = Receive(ctx, Config{Relays: []string{relay}, NoDiscovery: true}, code, transfer.ReceiveOptions{OutDir: t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), "this code may be void") || errors.Is(err, rendezvous.ErrUnknownNameplate) {
		t.Fatalf("receiver after a dropped handshake: %v; want the code called void, no retry", err)
	}
}
