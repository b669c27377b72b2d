package transfer

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bob-p2p/bob/transfer/internal/chantest"
)

// changeWhileSending runs a transfer of one file of size bytes and calls
// change once, from the link, when the sender's first data record passes:
// the file is written to while bob reads it.
func changeWhileSending(t *testing.T, size int, change func(path string) error) (src []byte, r result, out string) {
	t.Helper()
	src = randBytes(41, size)
	path := filepath.Join(t.TempDir(), "app.log")
	writeFile(t, path, src, 0o644)
	out = t.TempDir()
	var once sync.Once
	so := SendOptions{Paths: []string{path}, Compress: "off"}
	r = transferCtx(t, context.Background(), context.Background(), so, ReceiveOptions{OutDir: out},
		func(a, b *chantest.End) {
			a.CutWhen(func(from *chantest.End, typ byte, _ []byte) bool {
				if from == a && typ == recData {
					once.Do(func() {
						if err := change(path); err != nil {
							t.Error(err)
						}
					})
				}
				return false
			})
		})
	return src, r, out
}

// A file that grows while it is sent (a log, say): the receiver gets the
// bytes that were offered, verified, and the sender is told.
func TestFileGrowsWhileSent(t *testing.T) {
	const size = 4 << 20
	src, r, out := changeWhileSending(t, size, func(path string) error {
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
		if err != nil {
			return err
		}
		_, err = f.Write(bytes.Repeat([]byte("more\n"), 1000))
		return errors.Join(err, f.Close())
	})
	mustOK(t, r)
	got, err := os.ReadFile(filepath.Join(out, "app.log"))
	if err != nil || !bytes.Equal(got, src) {
		t.Fatalf("received %d bytes (%v), want the %d offered", len(got), err, size)
	}
	want := []Changed{{Path: "app.log", Sent: size, Now: size + 5000}}
	if got := eventsOf[Changed](r.sendEv.list()); len(got) != 1 || got[0] != want[0] {
		t.Errorf("sender events: %+v, want %+v", got, want)
	}
	if got := eventsOf[Changed](r.recvEv.list()); len(got) != 0 {
		t.Errorf("receiver events: %+v", got)
	}
}

// A file rewritten in place, same size: it may arrive mixed, and the
// sender is told.
func TestFileRewrittenWhileSent(t *testing.T) {
	const size = 4 << 20
	_, r, _ := changeWhileSending(t, size, func(path string) error {
		f, err := os.OpenFile(path, os.O_WRONLY, 0)
		if err != nil {
			return err
		}
		_, err = f.WriteAt([]byte("rewritten"), size-100)
		if err == nil {
			// The modification time must move even on a coarse clock.
			later := time.Now().Add(time.Hour)
			err = os.Chtimes(path, later, later)
		}
		return errors.Join(err, f.Close())
	})
	mustOK(t, r)
	if got := eventsOf[Changed](r.sendEv.list()); len(got) != 1 || got[0].Sent != size || got[0].Now != size {
		t.Errorf("sender events: %+v, want one for the rewritten file", got)
	}
}

// A file that shrinks while it is sent cannot deliver what was offered:
// the transfer fails on both sides and nothing is placed.
func TestFileShrinksWhileSent(t *testing.T) {
	const size = 4 << 20
	_, r, out := changeWhileSending(t, size, func(path string) error { return os.Truncate(path, 1000) })
	if r.sendErr == nil || !strings.Contains(r.sendErr.Error(), "it changed while being sent: it is shorter than the 4194304 bytes announced") {
		t.Errorf("sender: %v", r.sendErr)
	}
	if r.recvErr == nil {
		t.Error("the receiver succeeded")
	}
	if _, err := os.Stat(filepath.Join(out, "app.log")); err == nil {
		t.Error("a short file was placed")
	}
	if got := eventsOf[Changed](r.sendEv.list()); len(got) != 0 {
		t.Errorf("a failed file also reported as changed: %+v", got)
	}
}

// An untouched file is not reported.
func TestUnchangedFileIsNotReported(t *testing.T) {
	src := filepath.Join(t.TempDir(), "f.bin")
	writeFile(t, src, randBytes(42, 300_000), 0o644)
	r := transfer(t, SendOptions{Paths: []string{src}}, ReceiveOptions{OutDir: t.TempDir()})
	mustOK(t, r)
	if got := eventsOf[Changed](r.sendEv.list()); len(got) != 0 {
		t.Errorf("sender events: %+v", got)
	}
}

// TestCheckedSourcesAreNotCheckedAgain: Send builds its offer from what
// CheckSources found (issue 17 item 5: each path stat'ed and opened once
// before it is read). A file that grows between the check and the send is
// offered at its checked size, and the sender is told it changed.
func TestCheckedSourcesAreNotCheckedAgain(t *testing.T) {
	src := randBytes(43, 100_000)
	path := filepath.Join(t.TempDir(), "app.log")
	writeFile(t, path, src, 0o644)
	so, err := CheckSources(SendOptions{Paths: []string{path}, Compress: "off"})
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write([]byte("written after the check\n")); err != nil {
		t.Fatal(err)
	}
	f.Close()
	out := t.TempDir()
	r := transfer(t, so, ReceiveOptions{OutDir: out})
	mustOK(t, r)
	got, err := os.ReadFile(filepath.Join(out, "app.log"))
	if err != nil || !bytes.Equal(got, src) {
		t.Fatalf("received %d bytes (%v), want the %d checked", len(got), err, len(src))
	}
	if ch := eventsOf[Changed](r.sendEv.list()); len(ch) != 1 || ch[0].Sent != int64(len(src)) {
		t.Errorf("sender's changed events: %+v, want one for the growth", ch)
	}
}
