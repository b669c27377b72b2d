package transfer

import (
	"errors"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bob-p2p/bob/transfer/internal/chantest"
)

// An offered time of 0 is no wildcard: a sender offering pin.txt of the
// right size without a time must not get a resume claim (with the local
// file's hash) for the receiver's own pin.txt (issue 18, item 6).
func TestResumeClaimNeedsOfferedTime(t *testing.T) {
	src, out := t.TempDir(), t.TempDir()
	writeFile(t, filepath.Join(src, "pin.txt"), []byte("0000"), 0o644)
	epoch := time.Unix(0, 0)
	if err := os.Chtimes(filepath.Join(src, "pin.txt"), epoch, epoch); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(out, "pin.txt"), []byte("4821"), 0o600)
	var claimed atomic.Bool
	watch := func(a, b *chantest.End) {
		b.CutWhen(func(from *chantest.End, typ byte, _ []byte) bool {
			if from == b && typ == recResume {
				claimed.Store(true)
			}
			return false
		})
	}
	so := SendOptions{Paths: []string{filepath.Join(src, "pin.txt")}, Compress: "off"}
	r := transferCtx(t, t.Context(), t.Context(), so, ReceiveOptions{OutDir: out}, watch)
	if claimed.Load() {
		t.Error("the receiver sent a resume claim for its own pin.txt")
	}
	if !errors.Is(r.recvErr, ErrExists) {
		t.Errorf("receive error = %v, want ErrExists", r.recvErr)
	}
	got, err := os.ReadFile(filepath.Join(out, "pin.txt"))
	if err != nil || string(got) != "4821" {
		t.Errorf("pin.txt = %q, %v; want it untouched", got, err)
	}
}
