package transfer

import (
	"context"
	"errors"
	"strings"
	"testing"
)

// TestShortTextInOffer: a text of at most maxTextPreview bytes travels in
// the offer, so the person reads it before accepting (issue 16, item 19);
// a longer one does not.
func TestShortTextInOffer(t *testing.T) {
	for _, text := range []string{"meet at 6\x1b[2J\n", strings.Repeat("x", maxTextPreview)} {
		var asked OfferReceived
		r := transfer(t, SendOptions{Text: text, IsText: true}, ReceiveOptions{Accept: func(_ context.Context, o OfferReceived) (bool, error) {
			asked = o
			return false, nil
		}})
		if !errors.Is(r.recvErr, ErrDeclined) {
			t.Fatalf("declined: %v", r.recvErr)
		}
		if asked.Text != text || !asked.IsText {
			t.Fatalf("the offer shows the text %q, want %q", asked.Text, text)
		}
	}
	long := strings.Repeat("y", maxTextPreview+1)
	r := transfer(t, SendOptions{Text: long, IsText: true}, ReceiveOptions{})
	mustOK(t, r)
	if o := eventsOf[OfferReceived](r.recvEv.list()); len(o) != 1 || o[0].Text != "" {
		t.Fatalf("a text of %d bytes is in the offer: %+v", len(long), o)
	}
	if got := eventsOf[TextReceived](r.recvEv.list()); len(got) != 1 || got[0].Text != long {
		t.Fatal("the long text did not arrive")
	}
}

// TestHostileTextPreview: a sender cannot show one text and send another,
// nor put a preview where it does not belong.
func TestHostileTextPreview(t *testing.T) {
	textOffer := func(p fakePeer, h offerHeader) {
		p.send(recOffer, h.append(nil))
		p.entries(entry{Kind: kindText, Size: h.Total})
	}
	err := hostileSend(t, ReceiveOptions{}, func(p fakePeer) {
		textOffer(p, offerHeader{Version: protocolVersion, Kind: offerText, Count: 1, Total: 5, Text: "hello"})
		p.awaitAccept()
		p.fileData(0, []byte("jello"))
		p.fileEnd(0, 5, []byte("jello"))
	})
	if !errors.Is(err, ErrVerify) {
		t.Fatalf("a text other than the one shown: %v, want ErrVerify", err)
	}
	for name, h := range map[string]offerHeader{
		"shorter than the text": {Version: protocolVersion, Kind: offerText, Count: 1, Total: 6, Text: "hello"},
		"in a file offer":       {Version: protocolVersion, Kind: offerFiles, Count: 1, Total: 5, Text: "hello"},
		"too long":              {Version: protocolVersion, Kind: offerText, Count: 1, Total: maxTextPreview + 1, Text: strings.Repeat("z", maxTextPreview+1)},
	} {
		err := hostileSend(t, ReceiveOptions{}, func(p fakePeer) { textOffer(p, h) })
		if !errors.Is(err, ErrUnsafeOffer) || !strings.Contains(err.Error(), "bad offer header") && !strings.Contains(err.Error(), "not the text it offers") {
			t.Errorf("a preview %s: %v, want the header refused", name, err)
		}
	}
}
