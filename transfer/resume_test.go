package transfer

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/bob-p2p/bob/transfer/internal/chantest"
)

// held is how many bytes of each offered file the receiver's folder holds.
func held(t *testing.T, out string, files map[string]int64) int64 {
	t.Helper()
	var n int64
	for name, size := range files {
		if info, err := os.Stat(filepath.Join(out, name)); err == nil && info.Size() == size {
			n += size
			continue
		}
		if info, err := os.Stat(filepath.Join(out, name+partSuffix)); err == nil && info.Size() <= size {
			n += info.Size()
		}
	}
	return n
}

func TestResumeAfterInterruption(t *testing.T) {
	src := t.TempDir()
	files := map[string]int64{"set/a.bin": 300_000, "set/b.bin": 1_000_000, "set/sub/c.bin": 200_000}
	var total int64
	for name, size := range files {
		writeFile(t, filepath.Join(src, name), randBytes(uint64(size), int(size)), 0o644)
		total += size
	}
	so := SendOptions{Paths: []string{filepath.Join(src, "set")}, Compress: "off"}

	// Each point cuts the link at one moment of the first attempt.
	points := []struct {
		name string
		cut  func(a, b *chantest.End) func(from *chantest.End, typ byte, p []byte) bool
	}{
		{"during the offer", func(a, b *chantest.End) func(*chantest.End, byte, []byte) bool {
			return func(from *chantest.End, typ byte, _ []byte) bool { return from == a && typ == recEntries }
		}},
		{"after the answer", func(a, b *chantest.End) func(*chantest.End, byte, []byte) bool {
			return func(from *chantest.End, typ byte, _ []byte) bool { return from == a && typ == recFileStart }
		}},
		{"inside the first file", func(a, b *chantest.End) func(*chantest.End, byte, []byte) bool {
			return func(from *chantest.End, typ byte, _ []byte) bool {
				return from == a && typ == recData && a.Stats.Records(recData) == 3
			}
		}},
		{"between files", func(a, b *chantest.End) func(*chantest.End, byte, []byte) bool {
			return func(from *chantest.End, typ byte, _ []byte) bool {
				return from == a && typ == recFileStart && a.Stats.Records(recFileStart) == 1
			}
		}},
		{"inside the last file", func(a, b *chantest.End) func(*chantest.End, byte, []byte) bool {
			return func(from *chantest.End, typ byte, _ []byte) bool {
				return from == a && typ == recData && a.Stats.Records(recFileStart) == 3 && a.Stats.Records(recData) == 22
			}
		}},
		{"before the receipt", func(a, b *chantest.End) func(*chantest.End, byte, []byte) bool {
			return func(from *chantest.End, typ byte, _ []byte) bool { return from == b && typ == recReceipt }
		}},
	}
	for _, pt := range points {
		t.Run(pt.name, func(t *testing.T) {
			out := t.TempDir()
			r := transferCtx(t, context.Background(), context.Background(), so, ReceiveOptions{OutDir: out},
				func(a, b *chantest.End) { a.CutWhen(pt.cut(a, b)) })
			if r.sendErr == nil || r.recvErr == nil {
				t.Fatalf("interrupted transfer succeeded: %v / %v", r.sendErr, r.recvErr)
			}
			for name, size := range files {
				if info, err := os.Stat(filepath.Join(out, name)); err == nil && pt.name != "before the receipt" {
					t.Errorf("%s placed (%d of %d bytes) by an interrupted transfer", name, info.Size(), size)
				}
			}
			have := held(t, out, files)

			r = transfer(t, so, ReceiveOptions{OutDir: out})
			mustOK(t, r)
			sameTree(t, src, out)
			assertNoParts(t, out)
			crossed := r.sender.Stats.Bytes(recData) - r.sender.Stats.Records(recData) // one kind byte per raw block
			if crossed != total-have {
				t.Errorf("resume sent %d file bytes; the receiver held %d of %d, so %d were missing", crossed, have, total, total-have)
			}
			for _, ev := range append(r.sendEv.list(), r.recvEv.list()...) {
				if d, ok := ev.(Done); ok && d.Resumed != have {
					t.Errorf("Done.Resumed = %d, want %d", d.Resumed, have)
				}
			}
			t.Logf("held %d of %d bytes after the cut; %d crossed on resume", have, total, crossed)
		})
	}
}

// A large file is written with direct I/O, which buffers up to a megabyte:
// a cut must leave a part file that resumes to the exact file.
func TestResumeLargeFileAfterInterruption(t *testing.T) {
	src := t.TempDir()
	size := int64(directMinSize + 3*directBufSize + 12345)
	files := map[string]int64{"big.bin": size}
	writeFile(t, filepath.Join(src, "big.bin"), randBytes(11, int(size)), 0o644)
	so := SendOptions{Paths: []string{filepath.Join(src, "big.bin")}, Compress: "off"}
	out := t.TempDir()
	r := transferCtx(t, context.Background(), context.Background(), so, ReceiveOptions{OutDir: out},
		func(a, b *chantest.End) {
			a.CutWhen(func(from *chantest.End, typ byte, _ []byte) bool {
				return from == a && typ == recData && a.Stats.Records(recData) == 150
			})
		})
	if r.sendErr == nil || r.recvErr == nil {
		t.Fatalf("interrupted transfer succeeded: %v / %v", r.sendErr, r.recvErr)
	}
	have := held(t, out, files)
	if have == 0 || have >= size {
		t.Fatalf("the cut left %d of %d bytes", have, size)
	}
	assertKept(t, r.recvErr, out, "big.bin") // the part is not empty: the error says so
	r = transfer(t, so, ReceiveOptions{OutDir: out})
	mustOK(t, r)
	sameTree(t, src, out)
	assertNoParts(t, out)
	t.Logf("held %d of %d bytes after the cut", have, size)
}
