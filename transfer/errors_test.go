package transfer

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bob-p2p/bob/internal/safeterm"
)

// What the sender reads for each reason a receiver stops with: the stop
// record carries a code and a short fixed text, never the receiver's own
// message with its folder, names or free space (issue 17 item 2).
func TestStopReasonsAsTheSenderReadsThem(t *testing.T) {
	const private = "/home/ada/private"
	for _, c := range []struct {
		err  error
		want string
		is   error
	}{
		{context.Canceled, "cancelled by the receiver", ErrCancelledByPeer},
		{fmt.Errorf("%w by the person", ErrDeclined), "the receiver declined the transfer", ErrDeclined},
		{&ExistsError{Names: []string{private + "/a.txt"}}, "the receiver refused: files already exist", ErrExists},
		{&NoSpaceError{Dir: private, Need: 5 << 20, Free: 1}, "the receiver refused: not enough free space", ErrNoSpace},
		{nameError(private+"/../x", "leaves the folder"), "the receiver refused: the offer was rejected", ErrUnsafeOffer},
		{versionError{sender: protocolVersion - 1}, "the receiver stopped: the sender's bob is older: upgrade bob on the sending machine", ErrPeerFailed},
		{versionError{sender: protocolVersion + 1}, "the receiver stopped: the sender's bob is newer: upgrade bob on the receiving machine", ErrPeerFailed},
		{verifyError("\"%s\" does not match", private), "the receiver stopped: received data did not verify", ErrPeerFailed},
		{protocolError("data for \"%s\"", private), "the receiver stopped: the other side broke the protocol", ErrPeerFailed},
		{fmt.Errorf("cannot create \"%s\": %w", private, os.ErrPermission), "the receiver stopped: an error on its side", ErrPeerFailed},
	} {
		code, text := stopReason(c.err)
		rec := stop{Code: code, Message: text}.append(nil)
		if strings.Contains(string(rec), "ada") {
			t.Errorf("%v: the stop record tells the sender %q", c.err, rec)
		}
		m, err := decodeStop(rec)
		if err != nil {
			t.Fatal(err)
		}
		got := &peerStop{by: "receiver", code: m.Code, msg: m.Message}
		if got.Error() != c.want || !errors.Is(got, c.is) {
			t.Errorf("%v:\n got %q\nwant %q (matching %v)", c.err, got, c.want, c.is)
		}
	}
}

// A hostile or older receiver's stop: an unknown code reads as a failure,
// and its text, whatever it holds, is shown bounded and, by the view,
// escaped. An older bob's sentence is still shown.
func TestHostileStopText(t *testing.T) {
	src := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(src, []byte("data"), 0o644); err != nil {
		t.Fatal(err)
	}
	long := "\x1b]0;pwned\x07\x1b[2J" + strings.Repeat("é", 3000)
	for _, c := range []struct {
		code byte
		msg  string
		want string
	}{
		{200, long, ""},
		{stopFailed, long, ""},
		{stopVersion, long, ""},
		{0, "", "the receiver stopped: " + reasonFailed},
		{stopFailed, "the sender speaks protocol version 3; this bob speaks 2", "the receiver stopped: the sender speaks protocol version 3; this bob speaks 2"},
		{stopExists, long, "the receiver refused: files already exist"},
	} {
		err := hostileRecv(t, SendOptions{Paths: []string{src}}, func(p fakePeer) {
			p.readOffer()
			p.send(recStop, stop{Code: c.code, Message: c.msg}.append(nil))
		})
		var ps *peerStop
		if !errors.As(err, &ps) {
			t.Fatalf("code %d: sender error %v, want the receiver's stop", c.code, err)
		}
		if c.code != stopExists && !errors.Is(err, ErrPeerFailed) {
			t.Errorf("code %d: %v does not match ErrPeerFailed", c.code, err)
		}
		msg := err.Error()
		if c.want != "" && msg != c.want {
			t.Errorf("code %d: got %q, want %q", c.code, msg, c.want)
		}
		if len(msg) > maxShownStop+40 {
			t.Errorf("code %d: %d bytes of the peer's text shown", c.code, len(msg))
		}
		shown := safeterm.Escape(msg)
		if strings.ContainsAny(shown, "\x1b\x07") || strings.Contains(shown, `\\`) || !strings.Contains(shown, "the receiver ") {
			t.Errorf("code %d: shown as %q", c.code, shown)
		}
		if c.want == "" && (!strings.Contains(shown, `\x1b]0;pwned\a`) || !strings.HasSuffix(msg, "é…")) {
			t.Errorf("code %d: want the text escaped and cut on a character: %q", c.code, shown)
		}
	}
}

// The receiver's errors about a file carry its name raw, quoted but not
// escaped: the view escapes the whole message once (issue 17 item 1).
func TestReceiveErrorsCarryNamesRaw(t *testing.T) {
	const name = "new\nline\x1b[31m"
	data := randBytes(7, 1000)
	for what, script := range map[string]func(p fakePeer){
		"more than announced": func(p fakePeer) { p.fileData(0, data) },
		"checksum": func(p fakePeer) {
			p.fileData(0, data[1:101])
			p.fileEnd(0, 100, data[:100])
		},
		"bad block": func(p fakePeer) {
			p.send(recFileStart, fileStart{Index: 0}.append(nil))
			p.send(recData, []byte{blockZstd, 1, 2, 3})
		},
	} {
		out, _ := sandbox(t)
		err := hostileSend(t, ReceiveOptions{OutDir: out}, func(p fakePeer) {
			p.offer(offerFiles, fileE(name, 100))
			p.awaitAccept()
			script(p)
		})
		if err == nil || !strings.Contains(err.Error(), `"`+name+`"`) {
			t.Errorf("%s: %v, want the name raw", what, err)
			continue
		}
		if shown := safeterm.Escape(err.Error()); !strings.Contains(shown, `"new\nline\x1b[31m"`) || strings.Contains(shown, `\\`) {
			t.Errorf("%s: shown as %s", what, shown)
		}
	}
}
