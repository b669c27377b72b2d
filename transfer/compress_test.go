package transfer

import (
	"context"
	"io"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/bob-p2p/bob/transfer/internal/chantest"
)

// slowReads makes a channel end read data records slowly, like a slow link.
type slowReads struct {
	*chantest.End
	delay time.Duration
}

func (s slowReads) ReadRecord() (byte, []byte, error) {
	typ, p, err := s.End.ReadRecord()
	if typ == recData {
		time.Sleep(s.delay)
	}
	return typ, p, err
}

func sendOver(t *testing.T, so SendOptions, wrap func(*chantest.End) Channel) (wire, records int64) {
	t.Helper()
	a, b := chantest.Pair(4)
	defer a.Close()
	var wg sync.WaitGroup
	var serr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		serr = Send(context.Background(), a, so, nil)
	}()
	rerr := Receive(context.Background(), wrap(b), ReceiveOptions{Stdout: io.Discard}, nil)
	wg.Wait()
	if serr != nil || rerr != nil {
		t.Fatal(serr, rerr)
	}
	return a.Stats.Bytes(recData), a.Stats.Records(recData)
}

func TestAutoCompression(t *testing.T) {
	dir := t.TempDir()
	const size = 2 << 20
	text := filepath.Join(dir, "code.go")
	const textSize = 16 << 20 // the first 250 ms or so go raw while the link is measured
	writeFile(t, text, compressible(textSize), 0o644)
	zip := filepath.Join(dir, "code.zip")
	writeFile(t, zip, compressible(size), 0o644)
	random := filepath.Join(dir, "random.bin")
	writeFile(t, random, randBytes(12, size), 0o644)
	slow := func(e *chantest.End) Channel { return slowReads{e, 5 * time.Millisecond} }

	// On a slow link the compressors run ahead of the writer: blocks go
	// compressed. (Generous margins: this depends on scheduling.)
	if wire, _ := sendOver(t, SendOptions{Paths: []string{text}}, slow); wire > textSize/2 {
		t.Errorf("auto over a slow link sent %d bytes for %d compressible bytes", wire, textSize)
	}
	// Archives are not compressed by auto, whatever the link.
	if wire, n := sendOver(t, SendOptions{Paths: []string{zip}}, slow); wire != size+n {
		t.Errorf("auto compressed a .zip: %d bytes for %d", wire, size)
	}
	// Random data never goes compressed, even with "on".
	if wire, n := sendOver(t, SendOptions{Paths: []string{random}, Compress: "on"}, slow); wire != size+n {
		t.Errorf("random data: %d bytes for %d", wire, size)
	}
	// "on" compresses even a .zip.
	if wire, _ := sendOver(t, SendOptions{Paths: []string{zip}, Compress: "on"}, func(e *chantest.End) Channel { return e }); wire > size/10 {
		t.Errorf("compress on sent %d bytes for %d", wire, size)
	}
}

// TestLinkGauge checks the decision auto compression takes from measured
// rates: compress once the link is clearly slower than a compressor, stop
// once it is faster, hold in between, and do not flap when a slow link
// blocks the writer in bursts.
func TestLinkGauge(t *testing.T) {
	var g linkGauge
	if g.slow() {
		t.Fatal("a new gauge says the link is slow before measuring it")
	}
	// A compressor does 64 KiB in 256 µs: 4 ns per byte.
	for range 20 {
		g.compressed(64<<10, 256*time.Microsecond)
	}
	const block = 64 << 10
	now := time.Unix(0, 0)
	// send runs 400 ms of writes at nsPerByte; with burst > 1, every
	// burst-th write waits for all of them and the others return at once.
	send := func(nsPerByte float64, burst int) {
		end := now.Add(400 * time.Millisecond)
		for i := 0; now.Before(end); i++ {
			var d time.Duration
			if burst <= 1 {
				d = time.Duration(nsPerByte * block)
			} else if i%burst == burst-1 {
				d = time.Duration(nsPerByte * block * float64(burst))
			}
			now = now.Add(d + time.Microsecond)
			g.sentAt(block, d, now)
		}
	}
	steps := []struct {
		nsPerByte float64
		burst     int
		slow      bool
	}{
		{1, 1, false},   // loopback-fast link: raw
		{6, 1, false},   // slower than compression, but within the hysteresis
		{80, 1, true},   // 100 Mbit/s: compress
		{80, 16, true},  // the same link blocking in bursts: still compress
		{6, 1, true},    // within the hysteresis: keep compressing
		{0.5, 1, false}, // fast again: raw
		{80, 16, true},  // bursts alone are enough to see a slow link
	}
	for i, st := range steps {
		send(st.nsPerByte, st.burst)
		if g.slow() != st.slow {
			t.Fatalf("step %d (%.1f ns/byte, bursts of %d): slow = %v, want %v", i, st.nsPerByte, st.burst, g.slow(), st.slow)
		}
	}
	// Tiny blocks are not timed: they say nothing about the compressor.
	before := g.compNs.Load()
	g.compressed(100, time.Second)
	if g.compNs.Load() != before {
		t.Fatal("a 100-byte block changed the compression estimate")
	}
}
