package transfer

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
)

// A stream has no size to check before accepting, and zstd turns a few
// hundred kilobytes into gigabytes: written to a folder, it must stop while
// streamSpaceReserve is still free (issue 18, item 7).
func TestStreamKeepsFreeSpaceReserve(t *testing.T) {
	out := t.TempDir()
	const step = 8 << 20
	// The disk "fills" by a step each time bob looks: after 10 MiB of the
	// stream only 2 MiB above the reserve are left, then less than none.
	var looks atomic.Int64
	free := func(string) (int64, error) {
		return streamSpaceReserve + 10<<20 - looks.Add(1)*step + step, nil
	}
	data := bytes.Repeat([]byte{'a'}, 64<<20) // compresses to almost nothing
	so := SendOptions{Stdin: bytes.NewReader(data), StreamName: "bomb.bin", Compress: "on"}
	r := transfer(t, so, ReceiveOptions{OutDir: out, freeSpace: free})
	if !errors.Is(r.recvErr, ErrNoSpace) {
		t.Fatalf("receive error = %v, want ErrNoSpace", r.recvErr)
	}
	if !strings.Contains(r.recvErr.Error(), "bomb.bin") || !strings.Contains(r.recvErr.Error(), "free") {
		t.Errorf("error does not say which stream stopped and why: %v", r.recvErr)
	}
	// The reserve, for cmd/bob to show in SI units (issue 16 item 17).
	if e := (*NoSpaceError)(nil); !errors.As(r.recvErr, &e) || e.Stream != "bomb.bin" || e.Reserve != streamSpaceReserve {
		t.Errorf("error = %v, want a NoSpaceError for bomb.bin with the reserve", r.recvErr)
	}
	if r.sendErr == nil {
		t.Error("the sender finished a stream the receiver stopped")
	}
	if _, err := os.Stat(filepath.Join(out, "bomb.bin")); err == nil {
		t.Error("the stopped stream was placed")
	}
	var written int64
	filepath.Walk(out, func(_ string, fi os.FileInfo, err error) error {
		if err == nil && fi.Mode().IsRegular() {
			written += fi.Size()
		}
		return nil
	})
	if written > 12<<20 {
		t.Errorf("%d bytes were written; the fake disk had 10 MiB above the reserve", written)
	}
}

// With room to spare the same stream is received whole.
func TestStreamWithRoom(t *testing.T) {
	out := t.TempDir()
	free := func(string) (int64, error) { return 1 << 40, nil }
	data := bytes.Repeat([]byte{'a'}, 32<<20)
	so := SendOptions{Stdin: bytes.NewReader(data), StreamName: "big.bin", Compress: "on"}
	mustOK(t, transfer(t, so, ReceiveOptions{OutDir: out, freeSpace: free}))
	fi, err := os.Stat(filepath.Join(out, "big.bin"))
	if err != nil || fi.Size() != int64(len(data)) {
		t.Fatalf("big.bin: %v, %v", fi, err)
	}
}
