package secure

import (
	"context"
	"errors"
	"io"
	"net"
	"testing"
	"time"
)

type directResult struct {
	conn *Conn
	err  error
}

// directPair runs a direct handshake over a fresh TCP pair: from's side
// dials, to's side listens.
func directPair(t *testing.T, from, to *Conn) (dialer, listener directResult) {
	t.Helper()
	a, b := tcpPair(t)
	t.Cleanup(func() { a.Close(); b.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	done := make(chan directResult, 1)
	go func() {
		c, err := to.DirectHandshake(ctx, b, false)
		if err != nil {
			b.Close() // the dialer may wait for a reply that will not come
		}
		done <- directResult{c, err}
	}()
	c, err := from.DirectHandshake(ctx, a, true)
	if err != nil {
		a.Close()
	}
	return directResult{c, err}, <-done
}

func TestDirectHandshakeEitherSideDials(t *testing.T) {
	for _, name := range []string{"sender dials", "receiver dials"} {
		t.Run(name, func(t *testing.T) {
			s, r := connectedPair(t, transports[1], senderConfig(), receiverConfig())
			from, to := s, r
			if name == "receiver dials" {
				from, to = r, s
			}
			d, l := directPair(t, from, to)
			if d.err != nil || l.err != nil {
				t.Fatalf("direct handshake: dialer: %v, listener: %v", d.err, l.err)
			}
			if d.conn.Cipher() != s.Cipher() {
				t.Errorf("direct cipher %s, session cipher %s", d.conn.Cipher(), s.Cipher())
			}
			exchange(t, d.conn, l.conn, randomBytes(1, 300_000), randomBytes(2, 70_000))
		})
	}
}

// Two sessions with the same code are still different sessions: a direct
// connection of one cannot join the other.
func TestDirectHandshakeBindsSession(t *testing.T) {
	s1, _ := connectedPair(t, transports[1], senderConfig(), receiverConfig())
	_, r2 := connectedPair(t, transports[1], senderConfig(), receiverConfig())
	d, l := directPair(t, s1, r2)
	if !errors.Is(l.err, ErrNotPeer) {
		t.Errorf("listener of another session: got %v, want ErrNotPeer", l.err)
	}
	if d.err == nil {
		t.Errorf("dialer completed a handshake with another session")
	}
}

// A side's own handshake message reflected back at it must fail: the
// prologue says which role dialled.
func TestDirectHandshakeRejectsReflection(t *testing.T) {
	s, _ := connectedPair(t, transports[1], senderConfig(), receiverConfig())
	d, l := directPair(t, s, s)
	if !errors.Is(l.err, ErrNotPeer) || d.err == nil {
		t.Errorf("reflected handshake: dialer %v, listener %v; want both to fail, listener with ErrNotPeer", d.err, l.err)
	}
}

// A stranger who connects to a listener and sends anything learns nothing
// and is told apart from the peer.
func TestDirectHandshakeRejectsStrangers(t *testing.T) {
	s, _ := connectedPair(t, transports[1], senderConfig(), receiverConfig())
	for name, junk := range map[string][]byte{
		"closes at once":  nil,
		"http":            []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"),
		"right kind":      append([]byte{0, 49, kindDirect1}, make([]byte, 48)...),
		"oversized frame": {0xff, 0xff},
	} {
		t.Run(name, func(t *testing.T) {
			a, b := tcpPair(t)
			defer a.Close()
			defer b.Close()
			go func() {
				a.Write(junk)
				if cw, ok := a.(interface{ CloseWrite() error }); ok {
					cw.CloseWrite()
				}
			}()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			c, err := s.DirectHandshake(ctx, b, false)
			if !errors.Is(err, ErrNotPeer) {
				t.Fatalf("got %v, %v; want ErrNotPeer", c, err)
			}
			b.Close()
			// All the stranger ever gets is at most one handshake message,
			// which without the PSK is random bytes.
			got, _ := io.ReadAll(a)
			if len(got) > 2+1+noiseMessageLen {
				t.Errorf("the stranger got %d bytes", len(got))
			}
		})
	}
}

// A dialer that sends a valid first message but never confirms (it cannot
// have the keys without the PSK) is not accepted.
func TestDirectHandshakeNeedsConfirmation(t *testing.T) {
	s, r := connectedPair(t, transports[1], senderConfig(), receiverConfig())
	a, b := tcpPair(t)
	defer a.Close()
	defer b.Close()
	// Capture a real dialer's first message, then replay it on a new
	// connection without the confirmation that follows.
	c1, c2 := tcpPair(t)
	defer c1.Close()
	defer c2.Close()
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		r.DirectHandshake(ctx, c1, true) // fails once c2 closes
	}()
	first := make([]byte, 2+1+noiseMessageLen)
	if _, err := io.ReadFull(c2, first); err != nil {
		t.Fatal(err)
	}
	c2.Close()
	go func() {
		a.Write(first)
		io.Copy(io.Discard, a) // take message 2, then send nothing more
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		_, err := s.DirectHandshake(ctx, b, false)
		done <- err
	}()
	err := <-done
	if err == nil {
		t.Fatal("a replayed first message without confirmation was accepted")
	}
	if !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, ErrNotPeer) {
		t.Errorf("got %v", err)
	}
}

func TestDirectHandshakeNeedsSessionChannel(t *testing.T) {
	s, r := connectedPair(t, transports[1], senderConfig(), receiverConfig())
	d, l := directPair(t, s, r)
	if d.err != nil || l.err != nil {
		t.Fatal(d.err, l.err)
	}
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	if _, err := d.conn.DirectHandshake(context.Background(), a, true); err == nil {
		t.Error("a direct channel made another direct channel")
	}
}
