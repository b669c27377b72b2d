package secure

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"strings"
	"testing"
	"time"
)

// tcpConns is tcpPair as TCP connections, closed when t ends.
func tcpConns(t *testing.T) (a, b *net.TCPConn) {
	c, d := tcpPair(t)
	t.Cleanup(func() { c.Close(); d.Close() })
	return c.(*net.TCPConn), d.(*net.TCPConn)
}

// Raw reads and writes move a stream larger than the socket buffers intact
// (so both wait in the poller on the way), in writes and reads of every size.
func TestRawSocketIO(t *testing.T) {
	a, b := tcpConns(t)
	w, r := withRawWrites(a), withRawReads(b)
	if _, ok := w.(rawWriter); !ok {
		t.Fatalf("a TCP connection got a %T, not raw writes", w)
	}
	if _, ok := r.(rawReader); !ok {
		t.Fatalf("a TCP connection got a %T, not raw reads", r)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	want := make([]byte, 24<<20)
	for i := range want {
		want[i] = byte(rng.Uint32())
	}
	errc := make(chan error, 1)
	go func() {
		rest := want
		for len(rest) > 0 {
			n := min(len(rest), 1+rng.IntN(3<<20))
			m, err := w.Write(rest[:n])
			if err != nil || m != n {
				errc <- err
				return
			}
			rest = rest[n:]
		}
		errc <- a.CloseWrite()
	}()
	var got bytes.Buffer
	buf := make([]byte, 1<<20)
	for {
		n, err := r.Read(buf[:1+len(got.Bytes())%len(buf)])
		got.Write(buf[:n])
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Bytes(), want) {
		t.Fatalf("received %d bytes that differ from the %d sent", got.Len(), len(want))
	}
}

// Deadlines still apply (the handshake relies on them to stop), and a
// write to a connection the peer closed fails rather than hangs.
func TestRawSocketIODeadlinesAndErrors(t *testing.T) {
	a, b := tcpConns(t)
	b.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
	if _, err := withRawReads(b).Read(make([]byte, 10)); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read past the deadline: %v", err)
	}
	b.Close()
	w := withRawWrites(a)
	var err error
	for i := 0; i < 100 && err == nil; i++ { // the first writes may still be taken
		_, err = w.Write(make([]byte, 64<<10))
	}
	if err == nil || !(strings.Contains(err.Error(), "broken pipe") || strings.Contains(err.Error(), "reset")) {
		t.Fatalf("writing to a closed peer: %v", err)
	}
}

func TestRawIOLeavesOtherStreamsAlone(t *testing.T) {
	var buf bytes.Buffer
	if withRawWrites(&buf) != io.Writer(&buf) || withRawReads(&buf) != io.Reader(&buf) {
		t.Fatal("a bytes.Buffer was wrapped")
	}
}
