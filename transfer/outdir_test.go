package transfer

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// TestDeclineLeavesNoNewFolder: an output folder bob created for an offer
// that is declined or stopped before anything was written is removed again,
// with the parents it created; a folder that was there stays (issue 16,
// item 15).
func TestDeclineLeavesNoNewFolder(t *testing.T) {
	src := filepath.Join(t.TempDir(), "a.txt")
	writeFile(t, src, []byte("hello"), 0o644)
	decline := func(context.Context, OfferReceived) (bool, error) { return false, nil }
	giveUp := func(context.Context, OfferReceived) (bool, error) { return false, errors.New("no one answered") }

	for name, accept := range map[string]func(context.Context, OfferReceived) (bool, error){"declined": decline, "failed": giveUp} {
		base := t.TempDir()
		out := filepath.Join(base, "new", "sub")
		r := transfer(t, SendOptions{Paths: []string{src}}, ReceiveOptions{OutDir: out, Accept: accept})
		if r.recvErr == nil {
			t.Fatalf("%s: the offer was received", name)
		}
		if ents, _ := os.ReadDir(base); len(ents) != 0 {
			t.Errorf("%s: the output folder bob created is left behind: %v", name, ents)
		}

		// A folder that was there already stays, empty or not.
		if err := os.Mkdir(filepath.Join(base, "mine"), 0o755); err != nil {
			t.Fatal(err)
		}
		r = transfer(t, SendOptions{Paths: []string{src}}, ReceiveOptions{OutDir: filepath.Join(base, "mine", "new"), Accept: accept})
		if r.recvErr == nil {
			t.Fatalf("%s: the offer was received", name)
		}
		if ents, err := os.ReadDir(base); err != nil || len(ents) != 1 || ents[0].Name() != "mine" {
			t.Errorf("%s: want only the existing folder left, got %v (%v)", name, ents, err)
		}
		if ents, _ := os.ReadDir(filepath.Join(base, "mine")); len(ents) != 0 {
			t.Errorf("%s: the new folder inside the existing one is left behind: %v", name, ents)
		}
	}

	// Accepted: the folder is created and the file lands in it.
	out := filepath.Join(t.TempDir(), "new")
	mustOK(t, transfer(t, SendOptions{Paths: []string{src}}, ReceiveOptions{OutDir: out}))
	if b, err := os.ReadFile(filepath.Join(out, "a.txt")); err != nil || string(b) != "hello" {
		t.Fatalf("accepted into a new folder: %q, %v", b, err)
	}
}

// TestCancelKeepsFolderWithPart: a transfer stopped after data was written
// keeps the new output folder, with the part file to resume from.
func TestCancelKeepsFolderWithPart(t *testing.T) {
	base := t.TempDir()
	out := filepath.Join(base, "new")
	err := hostileSend(t, ReceiveOptions{OutDir: out}, func(p fakePeer) {
		p.offer(offerFiles, fileE("f", 10))
		p.awaitAccept()
		p.fileData(0, []byte("12345"))
		p.send(recStop, stop{Code: stopCancel, Message: "bye"}.append(nil))
	})
	if err == nil {
		t.Fatal("a cancelled transfer succeeded")
	}
	if _, err := os.Stat(filepath.Join(out, "f"+partSuffix)); err != nil {
		t.Fatalf("the part file and its folder are gone: %v", err)
	}
}
