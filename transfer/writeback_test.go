package transfer

import (
	"bytes"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// A sink hints the kernel to write back every writebackChunk bytes; the
// hints must not change what ends up in the file.
func TestFileSinkWritebackKeepsData(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f.bob-part")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	s := &fileSink{f: f}
	defer s.Close()
	want := randBytes(3, 3*writebackChunk+12345)
	for p := want; len(p) > 0; {
		n := min(len(p), 65000)
		if err := s.write(p[:n]); err != nil {
			t.Fatal(err)
		}
		p = p[n:]
	}
	if runtime.GOOS == "linux" {
		if s.noWriteback {
			t.Error("sync_file_range was refused on a regular file")
		}
		if s.writeback < 2*writebackChunk {
			t.Errorf("writeback hinted up to %d, want at least %d", s.writeback, 2*writebackChunk)
		}
	}
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("the file differs from what was written")
	}
}
