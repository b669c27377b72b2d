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

// The no-space refusal carries what was needed and what is free, in bytes;
// cmd/bob shows them in SI units, as the offer does (issue 16 item 17,
// issue 17 item 2).
func TestNoSpaceSays(t *testing.T) {
	r, out := noSpace(t)
	var e *NoSpaceError
	if !errors.As(r.recvErr, &e) || e.Need != 20<<20 || e.Free != 5<<20 || e.Dir != out {
		t.Errorf("receiver's error = %#v (%v), want 20 MiB needed, 5 MiB free in %s", e, r.recvErr, out)
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
