package transfer

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// TestOfferSaysWhatWasLeftOut: links the sender leaves out of a folder are
// counted in the offer, so the receiver learns of them (issue 16, item 16).
func TestOfferSaysWhatWasLeftOut(t *testing.T) {
	src := filepath.Join(t.TempDir(), "tree")
	writeFile(t, filepath.Join(src, "a.txt"), []byte("a"), 0o644)
	for _, l := range []string{"one", "two"} {
		if err := os.Symlink("a.txt", filepath.Join(src, l)); err != nil {
			t.Skipf("no symbolic links here: %v", err)
		}
	}
	r := transfer(t, SendOptions{Paths: []string{src}}, ReceiveOptions{OutDir: t.TempDir()})
	mustOK(t, r)
	got := eventsOf[OfferReceived](r.recvEv.list())
	if len(got) != 1 || got[0].LeftOut != 2 || got[0].Files != 1 {
		t.Fatalf("the receiver was offered %+v, want 1 file and 2 left out", got)
	}
	if sent := eventsOf[OfferSent](r.sendEv.list()); len(sent) != 1 || sent[0].LeftOut != 2 {
		t.Fatalf("the sender's offer event = %+v, want 2 left out", sent)
	}
}

// TestOfferHeaderLeftOut: the count is optional on the wire (an offer
// without it decodes as before, and one with 0 is written without it) and
// bounded: a larger count rejects the offer.
func TestOfferHeaderLeftOut(t *testing.T) {
	h := offerHeader{Version: protocolVersion, Kind: offerFiles, Count: 1, Total: 1}
	plain := h.append(nil)
	h.LeftOut = 3
	if got, err := decodeOfferHeader(h.append(nil)); err != nil || got != h {
		t.Fatalf("decode = %+v, %v; want %+v", got, err, h)
	}
	h.LeftOut = 0
	if b := h.append(nil); string(b) != string(plain) {
		t.Fatalf("a header without omissions changed on the wire: %x", b)
	}
	out, check := sandbox(t)
	err := hostileSend(t, ReceiveOptions{OutDir: out}, func(p fakePeer) {
		h := offerHeader{Version: protocolVersion, Kind: offerFiles, Count: 1, Total: 1, LeftOut: maxLeftOut + 1}
		p.send(recOffer, h.append(nil))
		p.entries(fileE("f", 1))
	})
	if !errors.Is(err, ErrUnsafeOffer) {
		t.Fatalf("an offer with %d entries left out: %v, want ErrUnsafeOffer", maxLeftOut+1, err)
	}
	if got := check(); len(got) != 0 {
		t.Fatalf("wrote %v", got)
	}
}
