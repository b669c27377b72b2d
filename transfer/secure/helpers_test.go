package secure

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

const testCode = "7-guitarist-revenge"

func senderConfig() Config {
	return Config{Code: testCode, Nameplate: "7", Role: Sender, Features: []string{"zstd"}}
}

func receiverConfig() Config {
	return Config{Code: testCode, Nameplate: "7", Role: Receiver, Features: []string{"zstd", "resume"}}
}

// transport makes a connected pair of streams.
type transport struct {
	name string
	pair func(t testing.TB) (a, b net.Conn)
}

var transports = []transport{
	{"pipe", func(t testing.TB) (net.Conn, net.Conn) { return net.Pipe() }},
	{"tcp", tcpPair},
}

// tcpPair connects two TCP sockets on 127.0.0.1.
func tcpPair(t testing.TB) (net.Conn, net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	type result struct {
		c   net.Conn
		err error
	}
	accepted := make(chan result, 1)
	go func() {
		c, err := ln.Accept()
		accepted <- result{c, err}
	}()
	a, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	r := <-accepted
	if r.err != nil {
		a.Close()
		t.Fatal(r.err)
	}
	return a, r.c
}

type handshakeResult struct {
	conn *Conn
	err  error
}

// handshakePair runs both handshakes concurrently over a and b.
func handshakePair(t testing.TB, a, b io.ReadWriter, sc, rc Config) (sender, receiver handshakeResult) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	done := make(chan handshakeResult, 1)
	go func() {
		c, err := Handshake(ctx, b, rc)
		done <- handshakeResult{c, err}
	}()
	c, err := Handshake(ctx, a, sc)
	sender = handshakeResult{c, err}
	if err != nil {
		// Unblock the receiver, which may be waiting for a message the
		// sender will never send.
		if cl, ok := a.(io.Closer); ok {
			cl.Close()
		}
	}
	receiver = <-done
	if receiver.err != nil && sender.err == nil {
		if cl, ok := b.(io.Closer); ok {
			cl.Close()
		}
	}
	return sender, receiver
}

// connectedPair returns two secure Conns over transport tr, closed at cleanup.
func connectedPair(t testing.TB, tr transport, sc, rc Config) (sender, receiver *Conn) {
	t.Helper()
	a, b := tr.pair(t)
	t.Cleanup(func() { a.Close(); b.Close() })
	s, r := handshakePair(t, a, b, sc, rc)
	if s.err != nil || r.err != nil {
		t.Fatalf("handshake: sender: %v, receiver: %v", s.err, r.err)
	}
	return s.conn, r.conn
}

// mitm forwards frames between a sender-side and a receiver-side stream and
// lets a test alter them. Frames are counted per direction from 0, handshake
// frames included. tamper returns the bytes to forward instead of frame (nil
// drops it) and whether to cut the connection after forwarding them.
type mitm struct {
	tamper func(dir direction, index int, frame []byte) (out []byte, cut bool)
	wg     sync.WaitGroup
}

type direction int

const (
	toReceiver direction = iota
	toSender
)

// newMITM returns the two endpoints the peers use. Everything is closed and
// all goroutines have ended when the test's cleanup has run.
func newMITM(t testing.TB, tamper func(dir direction, index int, frame []byte) ([]byte, bool)) (senderSide, receiverSide net.Conn) {
	senderSide, proxyS := net.Pipe()
	receiverSide, proxyR := net.Pipe()
	m := &mitm{tamper: tamper}
	m.wg.Add(2)
	go m.forward(toReceiver, proxyS, proxyR)
	go m.forward(toSender, proxyR, proxyS)
	t.Cleanup(func() {
		for _, c := range []net.Conn{senderSide, proxyS, receiverSide, proxyR} {
			c.Close()
		}
		m.wg.Wait()
	})
	return senderSide, receiverSide
}

func (m *mitm) forward(dir direction, from, to net.Conn) {
	defer m.wg.Done()
	// Ending one direction ends the connection, as when a relay drops it;
	// this also unblocks a peer still writing to us.
	defer from.Close()
	defer to.Close()
	for i := 0; ; i++ {
		var hdr [2]byte
		if _, err := io.ReadFull(from, hdr[:]); err != nil {
			return
		}
		frame := make([]byte, 2+int(binary.BigEndian.Uint16(hdr[:])))
		copy(frame, hdr[:])
		if _, err := io.ReadFull(from, frame[2:]); err != nil {
			return
		}
		out, cut := frame, false
		if m.tamper != nil {
			out, cut = m.tamper(dir, i, frame)
		}
		if len(out) > 0 {
			if _, err := to.Write(out); err != nil {
				return
			}
		}
		if cut {
			return
		}
	}
}

// isDetected reports whether err is one of the errors that mean "the stream
// was tampered with or cut".
func isDetected(err error) bool {
	return errors.Is(err, ErrCorrupt) || errors.Is(err, ErrTruncated)
}
