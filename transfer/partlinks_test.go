//go:build unix

package transfer

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// partScene makes new.txt to send and an output folder holding victim.txt.
func partScene(t *testing.T, seed uint64) (out string, data, victim []byte, so SendOptions) {
	t.Helper()
	src := t.TempDir()
	out = t.TempDir()
	data = randBytes(seed, 100_000)
	writeFile(t, filepath.Join(src, "new.txt"), data, 0o755)
	victim = plantVictim(t, out)
	return out, data, victim, SendOptions{Paths: []string{filepath.Join(src, "new.txt")}, Compress: "off"}
}

// plantVictim makes victim.txt (mode 0600) in out and returns its content.
func plantVictim(t *testing.T, out string) []byte {
	t.Helper()
	victim := []byte("the receiver's own file, not to be touched\n")
	writeFile(t, filepath.Join(out, "victim.txt"), victim, 0o600)
	return victim
}

func assertVictim(t *testing.T, out string, want []byte) {
	t.Helper()
	p := filepath.Join(out, "victim.txt")
	got, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("victim.txt was changed (%d bytes, want %d)", len(got), len(want))
	}
	info, err := os.Lstat(p)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode() != 0o600 {
		t.Errorf("victim.txt mode is %v, want -rw-------", info.Mode())
	}
}

// A link planted at NAME.bob-part while the prompt shows must not redirect
// the write to the file it points at (issue 18, item 5).
func TestPartFilePlantedLink(t *testing.T) {
	plants := map[string]func(victim, part string) error{
		"symlink":   func(victim, part string) error { return os.Symlink("victim.txt", part) },
		"hard link": os.Link,
	}
	for name, plant := range plants {
		t.Run(name, func(t *testing.T) {
			out, data, victim, so := partScene(t, 5)
			ro := ReceiveOptions{OutDir: out, Accept: func(context.Context, OfferReceived) (bool, error) {
				return true, plant(filepath.Join(out, "victim.txt"), filepath.Join(out, "new.txt.bob-part"))
			}}
			mustOK(t, transfer(t, so, ro))
			assertVictim(t, out, victim)
			got, err := os.ReadFile(filepath.Join(out, "new.txt"))
			if err != nil || !bytes.Equal(got, data) {
				t.Errorf("new.txt not received intact: %v", err)
			}
			assertNoParts(t, out)
		})
	}
}

// A part file from an earlier run swapped for a link after the plan must be
// neither hashed (which would tell the sender about another file) nor
// written through on resume.
func TestPartFileSwappedBeforeResume(t *testing.T) {
	swaps := map[string]func(victim, part string) error{
		"symlink": func(victim, part string) error {
			if err := os.Remove(part); err != nil {
				return err
			}
			return os.Symlink("victim.txt", part)
		},
		"hard link": func(victim, part string) error {
			if err := os.Remove(part); err != nil {
				return err
			}
			return os.Link(victim, part)
		},
	}
	for name, swap := range swaps {
		t.Run(name, func(t *testing.T) {
			out, data, victim, so := partScene(t, 6)
			part := filepath.Join(out, "new.txt.bob-part")
			writeFile(t, part, data[:len(victim)], 0o600)
			ro := ReceiveOptions{OutDir: out, Accept: func(context.Context, OfferReceived) (bool, error) {
				return true, swap(filepath.Join(out, "victim.txt"), part)
			}}
			r := transfer(t, so, ro)
			if r.recvErr == nil || !strings.Contains(r.recvErr.Error(), "replaced") {
				t.Errorf("receive error = %v, want the part file refused as replaced", r.recvErr)
			}
			assertVictim(t, out, victim)
			if _, err := os.Stat(filepath.Join(out, "new.txt")); err == nil {
				t.Error("new.txt was placed from a swapped part file")
			}
		})
	}
}

// A part file that already has another name is not resumed from: it may be
// someone else's file.
func TestPartFileHardLinkedAtPlan(t *testing.T) {
	out, _, victim, so := partScene(t, 7)
	if err := os.Link(filepath.Join(out, "victim.txt"), filepath.Join(out, "new.txt.bob-part")); err != nil {
		t.Fatal(err)
	}
	r := transfer(t, so, ReceiveOptions{OutDir: out})
	mustOK(t, r)
	assertVictim(t, out, victim)
	for _, ev := range r.recvEv.list() {
		if d, ok := ev.(Done); ok && d.Resumed != 0 {
			t.Errorf("resumed %d bytes from a hard-linked part file", d.Resumed)
		}
	}
}
