//go:build linux

package transfer

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/bob-p2p/bob/transfer/internal/chantest"
)

func TestSkipsSpecialFiles(t *testing.T) {
	src := t.TempDir()
	tree := filepath.Join(src, "tree")
	writeFile(t, filepath.Join(tree, "real.txt"), []byte("real"), 0o644)
	if err := syscall.Mkfifo(filepath.Join(tree, "fifo"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	r := transfer(t, SendOptions{Paths: []string{tree}}, ReceiveOptions{OutDir: out})
	mustOK(t, r)
	skipped := eventsOf[Skipped](r.sendEv.list())
	if len(skipped) != 1 || skipped[0].Path != "tree/fifo" || skipped[0].Reason != "special file" {
		t.Errorf("skipped: %+v", skipped)
	}
	if ents, _ := os.ReadDir(filepath.Join(out, "tree")); len(ents) != 1 {
		t.Errorf("received %v", ents)
	}
}

func openFDs(t *testing.T) int {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skip(err)
	}
	return len(ents)
}

// TestNoFDLeak runs successful and failing transfers and checks that every
// file and folder handle was closed.
func TestNoFDLeak(t *testing.T) {
	src := t.TempDir()
	for i, name := range []string{"a/x.bin", "a/y.bin", "a/sub/z.bin"} {
		writeFile(t, filepath.Join(src, name), randBytes(uint64(i), 300_000), 0o644)
	}
	so := SendOptions{Paths: []string{filepath.Join(src, "a")}, Compress: "off"}
	before := openFDs(t)

	out := t.TempDir()
	mustOK(t, transfer(t, so, ReceiveOptions{OutDir: out}))
	transfer(t, so, ReceiveOptions{OutDir: out}) // exists
	out2 := t.TempDir()
	transferCtx(t, context.Background(), context.Background(), so, ReceiveOptions{OutDir: out2}, func(a, b *chantest.End) {
		a.CutWhen(func(from *chantest.End, typ byte, _ []byte) bool {
			return typ == recData && a.Stats.Records(recData) == 7
		})
	})
	mustOK(t, transfer(t, so, ReceiveOptions{OutDir: out2})) // resume

	if after := openFDs(t); after != before {
		t.Errorf("%d file descriptors open before, %d after", before, after)
	}
}
