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
	writeFile(t, text, compressible(size), 0o644)
	zip := filepath.Join(dir, "code.zip")
	writeFile(t, zip, compressible(size), 0o644)
	random := filepath.Join(dir, "random.bin")
	writeFile(t, random, randBytes(12, size), 0o644)
	slow := func(e *chantest.End) Channel { return slowReads{e, 5 * time.Millisecond} }

	// On a slow link the compressors run ahead of the writer: blocks go
	// compressed. (Generous margins: this depends on scheduling.)
	if wire, _ := sendOver(t, SendOptions{Paths: []string{text}}, slow); wire > size/2 {
		t.Errorf("auto over a slow link sent %d bytes for %d compressible bytes", wire, size)
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
