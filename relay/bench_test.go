package relay_test

import (
	"crypto/rand"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/bob-p2p/bob/internal/relaytest"
)

// BenchmarkForward moves data one way through the relay and, in the same
// run, through a plain io.Copy proxy, so their MB/s compare directly. It
// also reports the CPU the whole process (both clients and the middle)
// spent per GB.
func BenchmarkForward(b *testing.B) {
	b.Run("relay", func(b *testing.B) {
		addr := relaytest.Start(b)
		s, r := pairUp(b, addr)
		benchTransfer(b, s, r)
	})
	b.Run("io.Copy-proxy", func(b *testing.B) {
		s, r := plainProxy(b)
		benchTransfer(b, s, r)
	})
}

func benchTransfer(b *testing.B, src, dst *net.TCPConn) {
	const chunk = 1 << 20
	data := make([]byte, chunk)
	rand.Read(data)
	got := make(chan int64, 1)
	go func() {
		n, _ := io.CopyBuffer(io.Discard, dst, make([]byte, 256<<10))
		got <- n
	}()
	b.SetBytes(chunk)
	cpu0, haveCPU := cpuTime()
	b.ResetTimer()
	for range b.N {
		if _, err := src.Write(data); err != nil {
			b.Fatal(err)
		}
	}
	src.CloseWrite()
	n := <-got
	b.StopTimer()
	cpu1, _ := cpuTime()
	if n != int64(b.N)*chunk {
		b.Fatalf("received %d bytes, sent %d", n, int64(b.N)*chunk)
	}
	if haveCPU {
		b.ReportMetric((cpu1-cpu0).Seconds()/(float64(n)/1e9), "cpu-s/GB")
	}
}

// plainProxy is the baseline: accept two connections and io.Copy between
// them both ways, with half-close, as simply as it can be done.
func plainProxy(b *testing.B) (a, c *net.TCPConn) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	a = dial(b, ln.Addr().String())
	x, err := ln.Accept()
	if err != nil {
		b.Fatal(err)
	}
	c = dial(b, ln.Addr().String())
	y, err := ln.Accept()
	if err != nil {
		b.Fatal(err)
	}
	var wg sync.WaitGroup
	pipe := func(dst, src *net.TCPConn) {
		io.Copy(dst, src)
		dst.CloseWrite()
	}
	wg.Go(func() { pipe(y.(*net.TCPConn), x.(*net.TCPConn)) })
	wg.Go(func() { pipe(x.(*net.TCPConn), y.(*net.TCPConn)) })
	b.Cleanup(func() {
		x.Close()
		y.Close()
		wg.Wait()
	})
	return a, c
}

// BenchmarkIdleConn reports the memory a waiting sender costs: with both
// ends in this process (B/idle-conn), and beyond what the same number of
// bare accepted sockets cost (B/relay-state), which is the relay's own
// bookkeeping and goroutine.
func BenchmarkIdleConn(b *testing.B) {
	const n = 1000
	if limit, _ := raiseFDLimit(); limit < 2*n+256 {
		b.Skipf("open-file limit %d is too low", limit)
	}
	addr, srv := relaytest.StartConfig(b, relaytest.Config())
	var total, bare float64
	for range b.N {
		base := heapAndStacks()
		conns := make([]*net.TCPConn, 0, n)
		for range n {
			c, _ := open(b, addr, "")
			conns = append(conns, c)
		}
		total += float64(heapAndStacks()-base) / n
		for _, c := range conns {
			c.Close()
		}
		waitMetric(b, srv, 0, "bob_relay_connections")

		bare += bareSockets(b, n)
	}
	b.ReportMetric(total/float64(b.N), "B/idle-conn")
	b.ReportMetric((total-bare)/float64(b.N), "B/relay-state")
}

// bareSockets returns the memory per pair of connected sockets that nobody
// serves.
func bareSockets(b *testing.B, n int) float64 {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	base := heapAndStacks()
	var conns []net.Conn
	for range n {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			b.Fatal(err)
		}
		s, err := ln.Accept()
		if err != nil {
			b.Fatal(err)
		}
		conns = append(conns, c, s)
	}
	per := float64(heapAndStacks()-base) / float64(n)
	for _, c := range conns {
		c.Close()
	}
	time.Sleep(10 * time.Millisecond)
	return per
}
