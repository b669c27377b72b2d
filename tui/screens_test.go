package tui

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/bob-p2p/bob/transfer"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/exp/teatest"
)

const hostile = "evil\x1b]0;pwned\x07\nname.txt"

func testOptions(role Role) Options {
	return Options{
		Role:           role,
		ReceiveCommand: func(string) string { return "bob recv --relay 192.168.1.20:9009" },
		Describe: func(err error) string {
			return "The code was wrong or someone tried to guess it: ask the sender for a new code."
		},
	}
}

// startModel runs the top model in teatest at a fixed size, without
// animation so that spinner frames are the same on every run.
func startModel(t *testing.T, opts Options, width, height int) *teatest.TestModel {
	t.Helper()
	cfg := newConfig(opts, lipgloss.NewRenderer(io.Discard), false)
	cfg.now = newFakeClock().now // no time passes: nothing stalls
	stop := make(chan struct{})
	t.Cleanup(func() { close(stop) }) // ends the pending tick
	cfg.stop = stop
	return teatest.NewTestModel(t, newModel(cfg), teatest.WithInitialTermSize(width, height))
}

// stopModel stops the program and returns the last model and its view.
func stopModel(t *testing.T, tm *teatest.TestModel) (model, string) {
	t.Helper()
	tm.Send(tea.QuitMsg{})
	fm := tm.FinalModel(t, teatest.WithFinalTimeout(10*time.Second))
	m := fm.(model)
	return m, m.View()
}

func sendAll(tm *teatest.TestModel, events ...transfer.Event) {
	for _, e := range events {
		tm.Send(eventMsg{e})
	}
}

func sampleOffer(n int) transfer.OfferReceived {
	o := transfer.OfferReceived{Files: n, Folders: 1, TotalBytes: 0}
	o.Entries = append(o.Entries, transfer.OfferEntry{Path: "holiday", IsDir: true})
	for i := 1; i <= n; i++ {
		s := int64(i) * 1_234_567
		o.Entries = append(o.Entries, transfer.OfferEntry{Path: fmt.Sprintf("holiday/photo-%02d.jpg", i), Size: s})
		o.TotalBytes += s
	}
	return o
}

func senderCode() transfer.Event {
	return transfer.CodeReady{Code: "7-guitarist-revenge", Relay: "192.168.1.20:9009"}
}

func TestGoldenSenderWaiting(t *testing.T) {
	tm := startModel(t, testOptions(Sending), 80, 24)
	sendAll(tm, transfer.Connecting{Relay: "192.168.1.20:9009"}, senderCode())
	_, view := stopModel(t, tm)
	teatest.RequireEqualOutput(t, []byte(view))
}

func TestGoldenSenderWaitingQR(t *testing.T) {
	opts := testOptions(Sending)
	opts.QR = true
	tm := startModel(t, opts, 80, 50)
	sendAll(tm, transfer.Connecting{Relay: "192.168.1.20:9009"}, senderCode())
	_, view := stopModel(t, tm)
	if !strings.Contains(view, "▀") {
		t.Fatalf("no QR code drawn:\n%s", view)
	}
	teatest.RequireEqualOutput(t, []byte(view))
}

func TestQRNeedsRoom(t *testing.T) {
	opts := testOptions(Sending)
	opts.QR = true
	tm := startModel(t, opts, 80, 20)
	sendAll(tm, senderCode())
	_, view := stopModel(t, tm)
	if strings.Contains(view, "▀") || !strings.Contains(view, "QR code needs a window") {
		t.Fatalf("a QR code too tall for the window was drawn:\n%s", view)
	}
}

func TestGoldenReceiverConnecting(t *testing.T) {
	tm := startModel(t, testOptions(Receiving), 80, 24)
	sendAll(tm, transfer.Connecting{Relay: "192.168.1.20:9009"}, transfer.Paired{}, transfer.Secured{Cipher: "Noise_NN_25519_ChaChaPoly_BLAKE2s"})
	_, view := stopModel(t, tm)
	teatest.RequireEqualOutput(t, []byte(view))
}

func TestGoldenReceiverOffer(t *testing.T) {
	tm := startModel(t, testOptions(Receiving), 80, 24)
	o := sampleOffer(30)
	sendAll(tm, transfer.Connecting{Relay: "192.168.1.20:9009"}, transfer.Paired{}, transfer.Secured{})
	tm.Send(offerMsg{offer: o, reply: make(chan acceptReply, 1)})
	_, view := stopModel(t, tm)
	teatest.RequireEqualOutput(t, []byte(view))
}

// hiddenWritesOffer is issue 18's attack (item 2): nine holiday photos,
// then .ssh/authorized_keys into a .ssh the receiver already has, and
// .bash_profile, as a real sender orders them.
func hiddenWritesOffer() transfer.OfferReceived {
	o := transfer.OfferReceived{Files: 11, Folders: 1}
	for i := 1; i <= 9; i++ {
		o.Entries = append(o.Entries, transfer.OfferEntry{Path: fmt.Sprintf("photo-%d.jpg", i), Size: 2_400_000})
	}
	o.Entries = append(o.Entries,
		transfer.OfferEntry{Path: ".ssh", IsDir: true, Hidden: true, Exists: true},
		transfer.OfferEntry{Path: ".ssh/authorized_keys", Size: 26, Hidden: true, InExisting: true},
		transfer.OfferEntry{Path: ".bash_profile", Size: 15, Hidden: true})
	for _, e := range o.Entries {
		o.TotalBytes += e.Size
	}
	return o
}

// TestGoldenReceiverOfferHidden: the hidden entries are named in the
// warnings at once, and flagged in the list when it is scrolled to them.
func TestGoldenReceiverOfferHidden(t *testing.T) {
	tm := startModel(t, testOptions(Receiving), 80, 24)
	tm.Send(offerMsg{offer: hiddenWritesOffer(), reply: make(chan acceptReply, 1)})
	waitFor := func(want string) {
		teatest.WaitFor(t, tm.Output(), func(b []byte) bool { return strings.Contains(string(b), want) },
			teatest.WithDuration(10*time.Second))
	}
	waitFor("entries 1–")
	tm.Send(tea.KeyMsg{Type: tea.KeyEnd})
	_, view := stopModel(t, tm)
	for _, want := range []string{
		"! 3 entries have hidden names (starting with a dot): .ssh/, .ssh/authorized_keys, .bash_profile",
		"! 1 folder is already here and will get new files: .ssh/",
		".ssh/ ! hidden name, folder already here",
		".ssh/authorized_keys (26 B) ! hidden name, into a folder already here",
		".bash_profile (15 B) ! hidden name",
		"of 12 ·",
	} {
		if !strings.Contains(strings.Join(strings.Fields(view), " "), want) { // as wrapped to the window
			t.Errorf("the offer does not show %q:\n%s", want, view)
		}
	}
	teatest.RequireEqualOutput(t, []byte(view))
}

func progressEvents() []transfer.Event {
	o := sampleOffer(3)
	evs := []transfer.Event{transfer.CodeReady{Code: "7-guitarist-revenge"}, transfer.Paired{}, transfer.Secured{},
		transfer.OfferSent(o), transfer.Accepted{}}
	total := o.TotalBytes
	for i := 1; i <= 4; i++ {
		done := total * int64(i) / 10
		evs = append(evs, transfer.Progress{Done: done, Total: total, WireBytes: done * 6 / 10,
			File: "holiday/photo-02.jpg", FileIndex: 2, Files: 3, Elapsed: time.Duration(i) * 500 * time.Millisecond})
	}
	return append(evs, transfer.FileDone{Path: "holiday/photo-01.jpg", Size: 1_234_567})
}

func TestGoldenProgress(t *testing.T) {
	tm := startModel(t, testOptions(Sending), 80, 24)
	sendAll(tm, progressEvents()...)
	_, view := stopModel(t, tm)
	teatest.RequireEqualOutput(t, []byte(view))
}

func TestGoldenProgressStream(t *testing.T) {
	tm := startModel(t, testOptions(Receiving), 80, 24)
	sendAll(tm, transfer.Accepted{},
		transfer.Progress{Done: 5_000_000, Total: -1, WireBytes: 5_000_000, Elapsed: time.Second},
		transfer.Progress{Done: 9_000_000, Total: -1, WireBytes: 9_000_000, Elapsed: 2 * time.Second})
	_, view := stopModel(t, tm)
	if strings.Contains(view, "left") || strings.Contains(view, "%") {
		t.Errorf("a stream of unknown size shows an ETA or a percentage:\n%s", view)
	}
	teatest.RequireEqualOutput(t, []byte(view))
}

func closeAndView(t *testing.T, tm *teatest.TestModel, err error) string {
	t.Helper()
	tm.Send(closeMsg{err: err})
	fm := tm.FinalModel(t, teatest.WithFinalTimeout(10*time.Second)).(model)
	if !fm.closed {
		t.Fatal("closeMsg did not close the model")
	}
	return fm.finalText()
}

func TestGoldenSummarySender(t *testing.T) {
	tm := startModel(t, testOptions(Sending), 80, 24)
	for i := 1; i <= 7; i++ {
		sendAll(tm, transfer.Skipped{Path: fmt.Sprintf("holiday/link-%d", i), Reason: "symbolic link"})
	}
	sendAll(tm, progressEvents()...)
	sendAll(tm, transfer.Changed{Path: "holiday/notes.txt", Sent: 1_200_000, Now: 1_250_000})
	sendAll(tm, transfer.Done{Files: 3, Bytes: 7_407_402, WireBytes: 4_444_441, Elapsed: 3200 * time.Millisecond, Via: "relay 192.168.1.20:9009"})
	teatest.RequireEqualOutput(t, []byte(closeAndView(t, tm, nil)))
}

func TestGoldenSummaryReceiver(t *testing.T) {
	tm := startModel(t, testOptions(Receiving), 80, 24)
	sendAll(tm, transfer.Accepted{ResumeBytes: 150_000_000},
		transfer.Done{Files: 12, Bytes: 250_000_000, WireBytes: 100_050_000, Elapsed: 95 * time.Second,
			OutDir: "/home/ada/Downloads", Via: "relay 192.168.1.20:9009", Resumed: 150_000_000})
	teatest.RequireEqualOutput(t, []byte(closeAndView(t, tm, nil)))
}

func TestGoldenSummaryText(t *testing.T) {
	tm := startModel(t, testOptions(Receiving), 80, 24)
	o := transfer.OfferReceived{IsText: true, TotalBytes: 31}
	sendAll(tm, o, transfer.Accepted{}, transfer.TextReceived{Text: "the wifi password is\nhunter2\x1b[2J"},
		transfer.Done{Bytes: 31, WireBytes: 31, Elapsed: 40 * time.Millisecond, Via: "relay 192.168.1.20:9009"})
	view := closeAndView(t, tm, nil)
	if strings.ContainsRune(view, 0x1b) {
		t.Fatalf("a text message reached the view raw: %q", view)
	}
	teatest.RequireEqualOutput(t, []byte(view))
}

func TestGoldenError(t *testing.T) {
	tm := startModel(t, testOptions(Receiving), 80, 24)
	sendAll(tm, transfer.Connecting{Relay: "192.168.1.20:9009"}, transfer.Paired{})
	teatest.RequireEqualOutput(t, []byte(closeAndView(t, tm, errors.New("pake: bad key confirmation"))))
}

// TestProgressBeforeFirstEvent: between the answer and the first progress
// event the screen shows what it knows, never "0 B of 0 B".
func TestProgressBeforeFirstEvent(t *testing.T) {
	for _, c := range []struct {
		name        string
		role        Role
		offer       *transfer.OfferReceived
		want, avoid string
	}{
		{"receiver", Receiving, &transfer.OfferReceived{Files: 3, TotalBytes: 7_400_000}, "0 B of 7.4 MB", "0 B of 0 B"},
		{"sender", Sending, nil, "– B/s", "0 B of 0 B"},
	} {
		cfg := newConfig(Options{Role: c.role}, lipgloss.NewRenderer(io.Discard), false)
		view := newProgressScreen(cfg, c.offer, 0, 80, 24).View()
		if !strings.Contains(view, c.want) || strings.Contains(view, c.avoid) || !strings.Contains(view, "starting…") {
			t.Errorf("%s: want %q and \"starting…\", not %q:\n%s", c.name, c.want, c.avoid, view)
		}
	}
}

// TestOfferOfTextListsNoEntry: a text message's one entry has no name; the
// offer screen says what it is and lists nothing.
func TestOfferOfTextListsNoEntry(t *testing.T) {
	cfg := newConfig(Options{Role: Receiving}, lipgloss.NewRenderer(io.Discard), false)
	o := transfer.OfferReceived{IsText: true, Files: 1, TotalBytes: 11, Entries: []transfer.OfferEntry{{Size: 11}}}
	view := newOfferScreen(cfg, o, 80, 24).View()
	if !strings.Contains(view, "a text message (11 B)") || strings.Count(view, "(11 B)") != 1 {
		t.Errorf("text offer shows an entry list:\n%s", view)
	}
}

// TestStreamIsAStream: both sides call a stream "a stream", in the offer
// and at the end, never "1 file".
func TestStreamIsAStream(t *testing.T) {
	stream := transfer.OfferReceived{IsStream: true, Files: 1, TotalBytes: -1, Entries: []transfer.OfferEntry{{Size: -1}}}
	done := transfer.Done{Files: 1, Bytes: 9_000_000, WireBytes: 9_000_000, Elapsed: 2 * time.Second, OutDir: "/tmp/in"}
	for _, role := range []Role{Sending, Receiving} {
		var first transfer.Event = stream
		verb := "Received"
		if role == Sending {
			first, verb = transfer.OfferSent(stream), "Sent"
		}
		tm := startModel(t, testOptions(role), 80, 24)
		if role == Receiving {
			tm.Send(offerMsg{offer: stream, reply: make(chan acceptReply, 1)})
			tm.Send(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("y")})
		}
		sendAll(tm, first, transfer.Accepted{}, transfer.Progress{Done: 9_000_000, Total: -1, Elapsed: time.Second}, done)
		view := closeAndView(t, tm, nil)
		if !strings.Contains(view, "✓ "+verb+" a stream (9.0 MB) in 2.0s") || strings.Contains(view, "1 file") {
			t.Errorf("%s summary of a stream:\n%s", verb, view)
		}

		var out strings.Builder
		v := newPlain(Options{Role: role, Out: &out}, newFakeClock().now)
		v.Event(first)
		v.Event(done)
		v.Close(nil)
		if !strings.Contains(out.String(), "a stream") || strings.Contains(out.String(), "1 file") {
			t.Errorf("plain %s:\n%s", verb, out.String())
		}
	}
	cfg := newConfig(Options{Role: Receiving}, lipgloss.NewRenderer(io.Discard), false)
	if view := newOfferScreen(cfg, stream, 80, 24).View(); !strings.Contains(view, "The sender offers a stream") || strings.Contains(view, "1 file") {
		t.Errorf("offer of a stream:\n%s", view)
	}
}

// TestOfferSaysWhatWasLeftOut: every view of an offer says how many entries
// the sender left out (issue 16, item 16).
func TestOfferSaysWhatWasLeftOut(t *testing.T) {
	for _, c := range []struct {
		n    int64
		want string
	}{{1, "1 entry was left out by the sender"}, {3, "3 entries were left out by the sender"}} {
		o := sampleOffer(2)
		o.LeftOut = c.n
		cfg := newConfig(Options{Role: Receiving}, lipgloss.NewRenderer(io.Discard), false)
		if view := newOfferScreen(cfg, o, 80, 24).View(); !strings.Contains(view, c.want) {
			t.Errorf("the offer screen lacks %q:\n%s", c.want, view)
		}
		var plain strings.Builder
		newPlain(Options{Role: Receiving, Out: &plain}, newFakeClock().now).Event(o)
		if !strings.Contains(plain.String(), "  "+c.want+"\n") {
			t.Errorf("plain output lacks %q:\n%s", c.want, plain.String())
		}
		var js strings.Builder
		newJSON(&js, Options{Role: Receiving}, newFakeClock().now).Event(o)
		if want := fmt.Sprintf(`"left_out":%d,`, c.n); !strings.Contains(js.String(), want) {
			t.Errorf("JSON lacks %s:\n%s", want, js.String())
		}
	}
	o := sampleOffer(2)
	var plain strings.Builder
	newPlain(Options{Role: Receiving, Out: &plain}, newFakeClock().now).Event(o)
	if strings.Contains(plain.String(), "left out") {
		t.Errorf("an offer with nothing left out says so:\n%s", plain.String())
	}
}

// TestOfferShowsShortText: a short text that came in the offer is shown,
// escaped, before accepting, in every view (issue 16, item 19); one of many
// lines scrolls like a list.
func TestOfferShowsShortText(t *testing.T) {
	text := "meet at 6" + hostile + "\nbring cake\n"
	o := transfer.OfferReceived{IsText: true, Files: 1, TotalBytes: int64(len(text)), Text: text, Entries: []transfer.OfferEntry{{Size: int64(len(text))}}}
	cfg := newConfig(Options{Role: Receiving}, lipgloss.NewRenderer(io.Discard), false)
	view := newOfferScreen(cfg, o, 80, 24).View()
	escaped := `meet at 6evil\x1b]0;pwned\a` // a newline breaks the line, escapes are shown
	if !strings.Contains(view, "│ "+escaped+" ") || !strings.Contains(view, "│ name.txt ") || !strings.Contains(view, "│ bring cake") || strings.ContainsAny(view, "\x1b\x07") {
		t.Errorf("the offer screen does not show the text escaped:\n%q", view)
	}
	var plain strings.Builder
	newPlain(Options{Role: Receiving, Out: &plain}, newFakeClock().now).Event(o)
	if want := "offer: a text message (44 B)\n  | " + escaped + "\n  | name.txt\n  | bring cake\n"; plain.String() != want {
		t.Errorf("plain offer = %q, want %q", plain.String(), want)
	}
	var js strings.Builder
	newJSON(&js, Options{Role: Receiving}, newFakeClock().now).Event(o)
	if want := `"preview":"meet at 6evil\\x1b]0;pwned\\a\\nname.txt\\nbring cake\\n"`; !strings.Contains(js.String(), want) {
		t.Errorf("JSON lacks %s:\n%s", want, js.String())
	}

	many := strings.Repeat("line\n", 200)
	o = transfer.OfferReceived{IsText: true, Files: 1, TotalBytes: int64(len(many)), Text: many}
	s := newOfferScreen(cfg, o, 80, 24)
	s.list.scroll(s.list.n)
	if view := s.View(); !strings.Contains(view, "of 200 · ↑/↓") || !strings.Contains(view, "Decline") {
		t.Errorf("a text of many lines does not scroll within the window:\n%s", view)
	}
}
