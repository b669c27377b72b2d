package transfer

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/bob-p2p/bob/transfer/internal/sysio"
)

// The sender's reader of a source file reads at the file's offset, so the
// seeks of resume and of sparse files still apply, and ends with io.EOF.
func TestSourceReaderFollowsSeeks(t *testing.T) {
	want := randBytes(31, 300_000)
	path := filepath.Join(t.TempDir(), "src")
	writeFile(t, path, want, 0o644)
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := sysio.SourceReader(f)
	buf := make([]byte, 70_000)
	if _, err := io.ReadFull(r, buf); err != nil || !bytes.Equal(buf, want[:70_000]) {
		t.Fatalf("first read: %v", err)
	}
	if _, err := f.Seek(200_000, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	rest, err := io.ReadAll(r)
	if err != nil || !bytes.Equal(rest, want[200_000:]) {
		t.Fatalf("after the seek: %d bytes, %v", len(rest), err)
	}
	if n, err := r.Read(buf); n != 0 || err != io.EOF {
		t.Fatalf("at the end: %d, %v", n, err)
	}
	f.Close()
	if _, err := r.Read(buf); err == nil {
		t.Fatal("read a closed file")
	}
}
