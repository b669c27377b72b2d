package transfer

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// TestClashChoices: files that exist are shown in the offer, marked, and
// the person's answer is carried out: overwrite, keep both as "name (N).ext",
// skip them, or cancel (issue 16, item 9). Without a Clash question the
// transfer is refused before anyone is asked, as before.
func TestClashChoices(t *testing.T) {
	src := t.TempDir()
	writeFile(t, filepath.Join(src, "a.txt"), []byte("new a"), 0o644)
	writeFile(t, filepath.Join(src, "b.txt"), []byte("new b"), 0o644)
	paths := []string{filepath.Join(src, "a.txt"), filepath.Join(src, "b.txt")}
	setup := func(t *testing.T) string {
		out := t.TempDir()
		writeFile(t, filepath.Join(out, "a.txt"), []byte("mine"), 0o644)
		writeFile(t, filepath.Join(out, "a (1).txt"), []byte("also mine"), 0o644)
		return out
	}
	cases := []struct {
		choice ClashChoice
		want   map[string]string // the output folder afterwards
		err    error
	}{
		{ClashOverwrite, map[string]string{"a.txt": "new a", "a (1).txt": "also mine", "b.txt": "new b"}, nil},
		{ClashKeepBoth, map[string]string{"a.txt": "mine", "a (1).txt": "also mine", "a (2).txt": "new a", "b.txt": "new b"}, nil},
		{ClashSkip, map[string]string{"a.txt": "mine", "a (1).txt": "also mine", "b.txt": "new b"}, nil},
		{ClashCancel, map[string]string{"a.txt": "mine", "a (1).txt": "also mine"}, ErrDeclined},
	}
	for _, c := range cases {
		out := setup(t)
		var asked OfferReceived
		r := transfer(t, SendOptions{Paths: paths}, ReceiveOptions{OutDir: out,
			Accept: func(context.Context, OfferReceived) (bool, error) {
				t.Error("Accept asked instead of Clash")
				return false, nil
			},
			Clash: func(_ context.Context, o OfferReceived) (ClashChoice, error) {
				asked = o
				return c.choice, nil
			}})
		if c.err == nil {
			mustOK(t, r)
		} else if !errors.Is(r.recvErr, c.err) {
			t.Fatalf("choice %d: %v, want %v", c.choice, r.recvErr, c.err)
		}
		if len(asked.Entries) != 2 || !asked.Entries[0].Clash || asked.Entries[1].Clash {
			t.Errorf("choice %d: the offer marks %+v, want a.txt only", c.choice, asked.Entries)
		}
		got := map[string]string{}
		ents, _ := os.ReadDir(out)
		for _, e := range ents {
			b, _ := os.ReadFile(filepath.Join(out, e.Name()))
			got[e.Name()] = string(b)
		}
		if len(got) != len(c.want) {
			t.Errorf("choice %d: output folder %q, want %q", c.choice, got, c.want)
		}
		for name, w := range c.want {
			if got[name] != w {
				t.Errorf("choice %d: %s = %q, want %q", c.choice, name, got[name], w)
			}
		}
		if c.choice == ClashSkip {
			done := eventsOf[Done](r.recvEv.list())
			for _, f := range eventsOf[FileDone](r.recvEv.list()) {
				if f.Path == "a.txt" {
					t.Error("a skipped file is reported as received")
				}
			}
			if len(done) != 1 || done[0].Files != 1 {
				t.Errorf("skipping one of two: Done = %+v, want 1 file", done)
			}
		}
	}

	// No one to ask: refused before the question, as before.
	out := setup(t)
	r := transfer(t, SendOptions{Paths: paths}, ReceiveOptions{OutDir: out,
		Accept: func(context.Context, OfferReceived) (bool, error) { t.Error("asked"); return true, nil }})
	if !errors.Is(r.recvErr, ErrExists) {
		t.Fatalf("no Clash question: %v, want ErrExists", r.recvErr)
	}
}

// TestOverwriteSaysWhatIsReplaced: with Overwrite the offer marks the files
// that will be replaced.
func TestOverwriteSaysWhatIsReplaced(t *testing.T) {
	src := t.TempDir()
	writeFile(t, filepath.Join(src, "a.txt"), []byte("new a"), 0o644)
	writeFile(t, filepath.Join(src, "b.txt"), []byte("new b"), 0o644)
	out := t.TempDir()
	writeFile(t, filepath.Join(out, "a.txt"), []byte("mine"), 0o644)
	r := transfer(t, SendOptions{Paths: []string{filepath.Join(src, "a.txt"), filepath.Join(src, "b.txt")}},
		ReceiveOptions{OutDir: out, Overwrite: true})
	mustOK(t, r)
	o := eventsOf[OfferReceived](r.recvEv.list())
	if len(o) != 1 || !o[0].Entries[0].Replaces || o[0].Entries[1].Replaces || o[0].Entries[0].Clash {
		t.Fatalf("the offer marks %+v, want a.txt replaced", o)
	}
}

func TestNumbered(t *testing.T) {
	for in, want := range map[string]string{
		"photo.jpg": "photo (3).jpg", "d/e/photo.tar.gz": "d/e/photo.tar (3).gz", ".bashrc": ".bashrc (3)",
		"README": "README (3)", "d/.x.conf": "d/.x (3).conf",
	} {
		if got := numbered(in, 3); got != want {
			t.Errorf("numbered(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestKeepBothAvoidsOfferNames: the free name is also clear of the offer's
// own names, as the offer compares them (case folded).
func TestKeepBothAvoidsOfferNames(t *testing.T) {
	out, check := sandbox(t)
	writeFile(t, filepath.Join(out, "a.txt"), []byte("mine"), 0o644)
	err := hostileSend(t, ReceiveOptions{OutDir: out, Clash: func(context.Context, OfferReceived) (ClashChoice, error) { return ClashKeepBoth, nil }},
		func(p fakePeer) {
			p.offer(offerFiles, fileE("a.txt", 1), fileE("A (1).txt", 1))
			p.awaitAccept()
			d := newDigest()
			for i, b := range []string{"x", "y"} {
				p.fileData(i, []byte(b))
				p.fileEnd(i, 1, []byte(b))
				d.add(fileEnd{Index: i, Size: 1, Sum: checksum([]byte(b))})
			}
			p.send(recEnd, d.summary().append(nil))
		})
	if err != nil {
		t.Fatal(err)
	}
	got := check()
	want := []string{"A (1).txt", "a (2).txt", "a.txt"}
	if len(got) != len(want) {
		t.Fatalf("output folder %q, want %q", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("output folder %q, want %q", got, want)
		}
	}
}
