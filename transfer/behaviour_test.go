package transfer

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bob-p2p/bob/transfer/internal/chantest"
)

func TestExistingFilesStop(t *testing.T) {
	src := t.TempDir()
	writeFile(t, filepath.Join(src, "docs", "a.txt"), []byte("new a"), 0o644)
	writeFile(t, filepath.Join(src, "docs", "b.txt"), []byte("new b"), 0o644)
	writeFile(t, filepath.Join(src, "docs", "sub", "c.txt"), []byte("new c"), 0o644)
	out := t.TempDir()
	if err := os.MkdirAll(filepath.Join(out, "docs"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(out, "docs", "b.txt"), []byte("mine"), 0o644); err != nil {
		t.Fatal(err)
	}
	so := SendOptions{Paths: []string{filepath.Join(src, "docs")}}
	r := transfer(t, so, ReceiveOptions{OutDir: out})
	if !errors.Is(r.recvErr, ErrExists) || !errors.Is(r.sendErr, ErrExists) {
		t.Fatalf("want ErrExists on both sides, got %v / %v", r.sendErr, r.recvErr)
	}
	if !strings.Contains(r.recvErr.Error(), "docs/b.txt") {
		t.Errorf("error does not list the existing file: %v", r.recvErr)
	}
	if got, _ := os.ReadFile(filepath.Join(out, "docs", "b.txt")); string(got) != "mine" {
		t.Errorf("existing file changed: %q", got)
	}
	if ents, _ := os.ReadDir(filepath.Join(out, "docs")); len(ents) != 1 {
		t.Errorf("something was written before the stop: %v", ents)
	}

	r = transfer(t, so, ReceiveOptions{OutDir: out, Overwrite: true})
	mustOK(t, r)
	sameTree(t, src, out)
}

// TestElapsedStartsAtTheAnswer: the time a person takes to answer is not
// part of the transfer, so neither side's Elapsed (behind the speed, the
// time left and the summary's average) may include it. Both clocks start
// after Accept returns, so neither can exceed the time from then to the end.
func TestElapsedStartsAtTheAnswer(t *testing.T) {
	src := filepath.Join(t.TempDir(), "f.bin")
	writeFile(t, src, randBytes(1, 1<<20), 0o644)
	var answered time.Time
	r := transfer(t, SendOptions{Paths: []string{src}}, ReceiveOptions{OutDir: t.TempDir(),
		Accept: func(context.Context, OfferReceived) (bool, error) {
			time.Sleep(200 * time.Millisecond) // someone reading the offer
			answered = time.Now()
			return true, nil
		}})
	mustOK(t, r)
	sinceAnswer := time.Since(answered)
	for side, evs := range map[string]*events{"sender": r.sendEv, "receiver": r.recvEv} {
		var done *Done
		for _, ev := range evs.list() {
			switch e := ev.(type) {
			case Done:
				done = &e
			case Progress:
				if e.Elapsed > sinceAnswer {
					t.Errorf("%s: progress elapsed %v counts the wait: only %v passed since the answer", side, e.Elapsed, sinceAnswer)
				}
			}
		}
		if done == nil {
			t.Fatalf("%s: no Done event", side)
		}
		if done.Elapsed > sinceAnswer {
			t.Errorf("%s: done after %v counts the wait: only %v passed since the answer", side, done.Elapsed, sinceAnswer)
		}
	}
}

func TestDecline(t *testing.T) {
	src := filepath.Join(t.TempDir(), "f.txt")
	writeFile(t, src, []byte("x"), 0o644)
	out := t.TempDir()
	var asked OfferReceived
	r := transfer(t, SendOptions{Paths: []string{src}}, ReceiveOptions{OutDir: out,
		Accept: func(_ context.Context, o OfferReceived) (bool, error) { asked = o; return false, nil }})
	if !errors.Is(r.sendErr, ErrDeclined) || !errors.Is(r.recvErr, ErrDeclined) {
		t.Fatalf("got %v / %v", r.sendErr, r.recvErr)
	}
	if r.sendErr.Error() != "the receiver declined the transfer" {
		t.Errorf("sender's message: %q", r.sendErr)
	}
	if asked.Files != 1 || asked.TotalBytes != 1 || len(asked.Entries) != 1 || asked.Entries[0].Path != "f.txt" {
		t.Errorf("offer shown: %+v", asked)
	}
	if ents, _ := os.ReadDir(out); len(ents) != 0 {
		t.Errorf("declined transfer wrote %v", ents)
	}
}

// cancelAfter cancels when the sender has written n data records.
func cancelAfter(n int64, cancel context.CancelFunc) func(a, b *chantest.End) {
	return func(a, b *chantest.End) {
		a.CutWhen(func(from *chantest.End, typ byte, _ []byte) bool {
			if from == a && typ == recData && a.Stats.Records(recData) == n {
				cancel()
			}
			return false
		})
	}
}

// assertKept checks that err tells how much the part file of name in out
// holds, and where, for the person to resume; or, when the part is still
// empty (the receiver drops the records it held unwritten), that it does
// not promise anything.
func assertKept(t *testing.T, err error, out, name string) {
	t.Helper()
	fi, serr := os.Stat(filepath.Join(out, name+partSuffix))
	if serr != nil {
		t.Fatal(serr)
	}
	var pe *PartialError
	if fi.Size() == 0 {
		if errors.As(err, &pe) {
			t.Errorf("%v: promises a resume from an empty part file", err)
		}
		return
	}
	if !errors.As(err, &pe) {
		t.Fatalf("%v: does not say what was kept", err)
	}
	if pe.Kept != fi.Size() || pe.Dir != out || !strings.Contains(err.Error(), "to resume") {
		t.Errorf("kept %d bytes in %q (%v), want the part file's %d in %q", pe.Kept, pe.Dir, err, fi.Size(), out)
	}
}

func TestCancel(t *testing.T) {
	src := filepath.Join(t.TempDir(), "big.bin")
	writeFile(t, src, randBytes(4, 8<<20), 0o644)
	so := SendOptions{Paths: []string{src}, Compress: "off"}

	t.Run("by sender", func(t *testing.T) {
		out := t.TempDir()
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		r := transferCtx(t, ctx, context.Background(), so, ReceiveOptions{OutDir: out}, cancelAfter(20, cancel))
		if !errors.Is(r.sendErr, context.Canceled) {
			t.Errorf("sender: %v", r.sendErr)
		}
		if !errors.Is(r.recvErr, ErrCancelledByPeer) || !strings.HasPrefix(r.recvErr.Error(), "cancelled by the sender; ") {
			t.Errorf("receiver: %v", r.recvErr)
		}
		assertPartOnly(t, out, "big.bin")
		assertKept(t, r.recvErr, out, "big.bin")
	})
	t.Run("by receiver", func(t *testing.T) {
		out := t.TempDir()
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		r := transferCtx(t, context.Background(), ctx, so, ReceiveOptions{OutDir: out}, cancelAfter(20, cancel))
		if !errors.Is(r.recvErr, context.Canceled) {
			t.Errorf("receiver: %v", r.recvErr)
		}
		if !errors.Is(r.sendErr, ErrCancelledByPeer) || r.sendErr.Error() != "cancelled by the receiver" {
			t.Errorf("sender: %v", r.sendErr)
		}
		assertPartOnly(t, out, "big.bin")
		assertKept(t, r.recvErr, out, "big.bin")
	})
	t.Run("while asking", func(t *testing.T) {
		out := t.TempDir()
		sctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		var sawCancel bool
		r := transferCtx(t, sctx, context.Background(), so, ReceiveOptions{OutDir: out,
			Accept: func(ctx context.Context, _ OfferReceived) (bool, error) {
				cancel() // the sender gives up while the person is being asked
				<-ctx.Done()
				sawCancel = true
				return false, ctx.Err()
			}}, nil)
		if !sawCancel || !errors.Is(r.recvErr, ErrCancelledByPeer) || !errors.Is(r.sendErr, context.Canceled) {
			t.Errorf("got %v / %v (accept saw cancel: %v)", r.sendErr, r.recvErr, sawCancel)
		}
	})
}

// assertPartOnly checks that name was not placed, and its part file exists.
func assertPartOnly(t *testing.T, dir, name string) {
	t.Helper()
	if _, err := os.Lstat(filepath.Join(dir, name)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("%s was placed after a failed transfer (%v)", name, err)
	}
	if _, err := os.Lstat(filepath.Join(dir, name+partSuffix)); err != nil {
		t.Errorf("part file missing: %v", err)
	}
}

func TestCheckSources(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "a", "x"), nil, 0o644)
	writeFile(t, filepath.Join(dir, "b", "x"), nil, 0o644)
	cases := []struct {
		name string
		opts SendOptions
		want string
	}{
		{"nothing", SendOptions{}, "nothing to send"},
		{"missing", SendOptions{Paths: []string{filepath.Join(dir, "nope")}}, "no such file"},
		{"same name", SendOptions{Paths: []string{filepath.Join(dir, "a", "x"), filepath.Join(dir, "b", "x")}}, "same name"},
		{"mix", SendOptions{Paths: []string{dir}, IsText: true}, "not a mix"},
		{"bad compress", SendOptions{Paths: []string{dir}, Compress: "max"}, "unknown compression"},
		{"root", SendOptions{Paths: []string{"/"}}, "send the folders inside it"},
	}
	for _, c := range cases {
		_, err := CheckSources(c.opts)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want %q", c.name, err, c.want)
		}
	}
	if _, err := CheckSources(SendOptions{Paths: []string{filepath.Join(dir, "a"), filepath.Join(dir, "b", "x")}}); err != nil {
		t.Errorf("valid sources: %v", err)
	}
}

func TestSkipsLinksAndSpecialFiles(t *testing.T) {
	src := t.TempDir()
	tree := filepath.Join(src, "tree")
	writeFile(t, filepath.Join(tree, "real.txt"), []byte("real"), 0o644)
	if err := os.Symlink("/etc/passwd", filepath.Join(tree, "link")); err != nil {
		t.Skip("no symlinks here:", err)
	}
	out := t.TempDir()
	r := transfer(t, SendOptions{Paths: []string{tree}}, ReceiveOptions{OutDir: out})
	mustOK(t, r)
	skipped := eventsOf[Skipped](r.sendEv.list())
	if len(skipped) != 1 || skipped[0].Path != "tree/link" || skipped[0].Reason != "symbolic link" {
		t.Errorf("skipped: %+v", skipped)
	}
	if _, err := os.Lstat(filepath.Join(out, "tree", "link")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("link was sent: %v", err)
	}
	if got, _ := os.ReadFile(filepath.Join(out, "tree", "real.txt")); string(got) != "real" {
		t.Errorf("real.txt: %q", got)
	}
}
