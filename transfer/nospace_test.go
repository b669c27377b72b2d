package transfer

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// noSpace offers a 20 MiB file to a receiver whose folder has 5 MiB free.
func noSpace(t *testing.T) (r result, out string) {
	t.Helper()
	src := filepath.Join(t.TempDir(), "twenty.bin")
	f, err := os.Create(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(20 << 20); err != nil {
		t.Fatal(err)
	}
	f.Close()
	out = filepath.Join(t.TempDir(), "private-folder-name")
	free := func(string) (int64, error) { return 5 << 20, nil }
	r = transfer(t, SendOptions{Paths: []string{src}}, ReceiveOptions{OutDir: out, freeSpace: free})
	if !errors.Is(r.recvErr, ErrNoSpace) || !errors.Is(r.sendErr, ErrNoSpace) {
		t.Fatalf("receive: %v\nsend: %v\nwant ErrNoSpace on both sides", r.recvErr, r.sendErr)
	}
	return r, out
}

// The no-space refusal counts in SI units, as the offer does: the offer
// says 21 MB, so the refusal does not say 20 MiB (issue 16 item 17).
func TestNoSpaceInSIUnits(t *testing.T) {
	r, _ := noSpace(t)
	msg := r.recvErr.Error()
	if !strings.Contains(msg, "21 MB") || !strings.Contains(msg, "5.2 MB") || strings.Contains(msg, "iB") {
		t.Errorf("receiver's error is not in SI units (want 21 MB needed, 5.2 MB free): %s", msg)
	}
}

// The receiver sees where and how much; the sender learns only that there
// was no space, not the receiver's folder or its free space (issue 16 item
// 18).
func TestNoSpaceKeepsTheFolderFromTheSender(t *testing.T) {
	r, out := noSpace(t)
	if msg := r.recvErr.Error(); !strings.Contains(msg, out) {
		t.Errorf("the receiver's error does not name its folder %s: %s", out, msg)
	}
	if got, want := r.sendErr.Error(), "the receiver refused: not enough free space"; got != want {
		t.Errorf("the sender's error is %q, want %q", got, want)
	}
}
