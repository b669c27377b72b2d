//go:build linux

package transfer

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestUnreadableLeftOut: inside a sent folder, files and folders the person
// may not read are left out with a warning, as links are; a path the person
// named and may not read stops the send before anything is offered.
func TestUnreadableLeftOut(t *testing.T) {
	if os.Geteuid() == 0 {
		runAsNobody(t) // root reads everything: run as someone who cannot
		return
	}
	src := t.TempDir()
	tree := filepath.Join(src, "tree")
	writeFile(t, filepath.Join(tree, "ok.txt"), []byte("ok"), 0o644)
	writeFile(t, filepath.Join(tree, "secret.txt"), []byte("secret"), 0o000)
	writeFile(t, filepath.Join(tree, "locked", "inner.txt"), []byte("inner"), 0o644)
	writeFile(t, filepath.Join(tree, "unlisted", "child.txt"), []byte("child"), 0o644)
	chmod(t, filepath.Join(tree, "locked"), 0o000)   // cannot be listed
	chmod(t, filepath.Join(tree, "unlisted"), 0o644) // listed, but its entries cannot be looked at
	t.Cleanup(func() {
		_ = os.Chmod(filepath.Join(tree, "locked"), 0o755)
		_ = os.Chmod(filepath.Join(tree, "unlisted"), 0o755)
	})

	out := t.TempDir()
	r := transfer(t, SendOptions{Paths: []string{tree}}, ReceiveOptions{OutDir: out})
	mustOK(t, r)
	var skipped []string
	for _, s := range eventsOf[Skipped](r.sendEv.list()) {
		skipped = append(skipped, s.Path+" ("+s.Reason+")")
	}
	slices.Sort(skipped)
	want := []string{"tree/locked (not readable)", "tree/secret.txt (not readable)", "tree/unlisted/child.txt (not readable)"}
	if !slices.Equal(skipped, want) {
		t.Errorf("skipped %q, want %q", skipped, want)
	}
	if o := eventsOf[OfferReceived](r.recvEv.list()); len(o) != 1 || o[0].LeftOut != 3 {
		t.Errorf("the receiver's offer = %+v, want LeftOut 3", o)
	}
	var got []string
	err := filepath.WalkDir(out, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(out, p)
		got = append(got, filepath.ToSlash(rel))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{".", "tree", "tree/ok.txt", "tree/unlisted"}; !slices.Equal(got, want) {
		t.Errorf("received %q, want %q", got, want)
	}

	// Named by the person: a clear error from the check the command runs
	// before it connects.
	for _, p := range []string{filepath.Join(tree, "secret.txt"), filepath.Join(tree, "locked")} {
		_, err := CheckSources(SendOptions{Paths: []string{p}})
		if !errors.Is(err, fs.ErrPermission) || !strings.Contains(err.Error(), "cannot send") {
			t.Errorf("sending %s: %v", filepath.Base(p), err)
		}
	}
}

func chmod(t *testing.T, path string, mode os.FileMode) {
	t.Helper()
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
}

// runAsNobody runs the calling test again in a copy of this test binary,
// as user and group 65534, and fails if it does not pass there.
func runAsNobody(t *testing.T) {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	bin, err := os.ReadFile(self)
	if err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "bob-nobody-") // under the world-writable temp dir
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	exe := filepath.Join(dir, "transfer.test")
	if err := os.WriteFile(exe, bin, 0o755); err != nil {
		t.Fatal(err)
	}
	chmod(t, dir, 0o755)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, exe, "-test.run", "^"+t.Name()+"$", "-test.v", "-test.count=1", "-test.timeout=90s")
	cmd.WaitDelay = 5 * time.Second
	cmd.Dir = dir
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "TMPDIR=" + os.TempDir()}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS: "+t.Name()) {
		t.Fatalf("as uid 65534: %v\n%s", err, out)
	}
}
