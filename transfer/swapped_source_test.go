//go:build unix

package transfer

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/bob-p2p/bob/transfer/internal/chantest"
)

// A file swapped for a link (or another file) between the offer and the
// accept is refused, and what is there now never crosses the wire
// (issue 18, item 4: report.txt swapped for a link to a private key).
func TestSenderRefusesSwappedSource(t *testing.T) {
	secret := bytes.Repeat([]byte("PRIVATE KEY MATERIAL "), 200)
	// The folder's own private.txt is sent before report.txt is reached;
	// what must never cross is the content swapped in from outside.
	cases := []struct {
		name string
		top  bool // send the file itself rather than its folder
		swap func(t *testing.T, target, outside, sibling string)
	}{
		{"link out of the folder", false, func(t *testing.T, target, outside, _ string) { relink(t, outside, target) }},
		{"link inside the folder", false, func(t *testing.T, target, _, sibling string) { relink(t, sibling, target) }},
		{"folder on the way made a link", false, func(t *testing.T, target, outside, _ string) {
			dir := filepath.Dir(target)
			if err := os.Rename(dir, dir+".old"); err != nil {
				t.Fatal(err)
			}
			writeFile(t, filepath.Join(filepath.Dir(outside), "fake", "report.txt"), secret, 0o644)
			if err := os.Symlink(filepath.Join(filepath.Dir(outside), "fake"), dir); err != nil {
				t.Fatal(err)
			}
		}},
		{"top-level file made a link", true, func(t *testing.T, target, outside, _ string) { relink(t, outside, target) }},
		{"top-level file replaced", true, func(t *testing.T, target, _, _ string) {
			tmp := target + ".new"
			writeFile(t, tmp, secret, 0o644)
			if err := os.Rename(tmp, target); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			base, out := t.TempDir(), t.TempDir()
			outside := filepath.Join(base, "id_ed25519")
			writeFile(t, outside, secret, 0o600)
			target := filepath.Join(base, "set", "docs", "report.txt")
			sibling := filepath.Join(base, "set", "docs", "private.txt")
			writeFile(t, target, []byte("quarterly report\n"), 0o644)
			writeFile(t, sibling, []byte("another file of the folder\n"), 0o644)
			path := filepath.Join(base, "set")
			if c.top {
				path = target
			}
			so := SendOptions{Paths: []string{path}, Compress: "off"}
			ro := ReceiveOptions{OutDir: out, Accept: func(context.Context, OfferReceived) (bool, error) {
				c.swap(t, target, outside, sibling)
				return true, nil
			}}
			var leaked atomic.Bool
			watch := func(a, b *chantest.End) {
				a.CutWhen(func(from *chantest.End, typ byte, p []byte) bool {
					if from == a && typ == recData && bytes.Contains(p, secret[:64]) {
						leaked.Store(true)
					}
					return false
				})
			}
			r := transferCtx(t, context.Background(), context.Background(), so, ro, watch)
			if !errors.Is(r.sendErr, ErrReplaced) {
				t.Fatalf("send error = %v, want ErrReplaced", r.sendErr)
			}
			if r.recvErr == nil {
				t.Error("the receiver finished a transfer whose file was refused")
			}
			if leaked.Load() {
				t.Error("the swapped-in file's content was sent")
			}
			if _, err := os.Stat(filepath.Join(out, "set", "docs", "report.txt")); err == nil {
				t.Error("report.txt was placed")
			}
		})
	}
}

func relink(t *testing.T, to, at string) {
	t.Helper()
	if err := os.Remove(at); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(to, at); err != nil {
		t.Fatal(err)
	}
}
