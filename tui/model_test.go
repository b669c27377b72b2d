package tui

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/bob-p2p/bob/transfer"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/exp/teatest"
)

func waitReply(t *testing.T, reply chan acceptReply) acceptReply {
	t.Helper()
	select {
	case r := <-reply:
		return r
	case <-time.After(10 * time.Second):
		t.Fatal("the offer was never answered")
		return acceptReply{}
	}
}

func TestAcceptPrompt(t *testing.T) {
	cases := []struct {
		name string
		keys []tea.KeyMsg
		want bool
	}{
		{"y accepts", []tea.KeyMsg{{Type: tea.KeyRunes, Runes: []rune("y")}}, true},
		{"n declines", []tea.KeyMsg{{Type: tea.KeyRunes, Runes: []rune("n")}}, false},
		{"esc declines", []tea.KeyMsg{{Type: tea.KeyEsc}}, false},
		{"enter takes the highlighted Decline", []tea.KeyMsg{{Type: tea.KeyEnter}}, false},
		{"left then enter accepts", []tea.KeyMsg{{Type: tea.KeyLeft}, {Type: tea.KeyEnter}}, true},
		{"left twice stays on Accept", []tea.KeyMsg{{Type: tea.KeyLeft}, {Type: tea.KeyLeft}, {Type: tea.KeyEnter}}, true},
		{"right stays on Decline", []tea.KeyMsg{{Type: tea.KeyRight}, {Type: tea.KeyEnter}}, false},
		{"left, right twice ends on Decline", []tea.KeyMsg{{Type: tea.KeyLeft}, {Type: tea.KeyRight}, {Type: tea.KeyRight}, {Type: tea.KeyEnter}}, false},
		{"tab cycles to Accept", []tea.KeyMsg{{Type: tea.KeyTab}, {Type: tea.KeyEnter}}, true},
		{"tab twice cycles back to Decline", []tea.KeyMsg{{Type: tea.KeyTab}, {Type: tea.KeyTab}, {Type: tea.KeyEnter}}, false},
		{"shift+tab cycles", []tea.KeyMsg{{Type: tea.KeyShiftTab}, {Type: tea.KeyEnter}}, true},
		{"y accepts wherever the highlight is", []tea.KeyMsg{{Type: tea.KeyRight}, {Type: tea.KeyRunes, Runes: []rune("y")}}, true},
		{"n declines wherever the highlight is", []tea.KeyMsg{{Type: tea.KeyLeft}, {Type: tea.KeyRunes, Runes: []rune("n")}}, false},
		{"scrolling does not answer", []tea.KeyMsg{{Type: tea.KeyDown}, {Type: tea.KeyPgDown}, {Type: tea.KeyRunes, Runes: []rune("y")}}, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tm := startModel(t, testOptions(Receiving), 80, 24)
			reply := make(chan acceptReply, 1)
			tm.Send(offerMsg{offer: sampleOffer(30), reply: reply})
			for _, k := range c.keys {
				tm.Send(k)
			}
			r := waitReply(t, reply)
			if r.err != nil || r.ok != c.want {
				t.Fatalf("answer = %v, %v; want %v, nil", r.ok, r.err, c.want)
			}
			m, view := stopModel(t, tm)
			if _, prompting := m.screen.(offerScreen); prompting {
				t.Errorf("the prompt is still shown after the answer:\n%s", view)
			}
		})
	}
}

// After a yes, the wait screen says what happens next: hashing what is
// already here, when there is some, takes a while.
func TestAcceptSaysWhatComesNext(t *testing.T) {
	for _, c := range []struct {
		resumable int64
		want      string
	}{{0, "starting the transfer"}, {783_000_000, "checking the 783 MB already here"}} {
		tm := startModel(t, testOptions(Receiving), 80, 24)
		reply := make(chan acceptReply, 1)
		o := sampleOffer(3)
		o.Resumable = c.resumable
		tm.Send(offerMsg{offer: o, reply: reply})
		tm.Send(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("y")})
		if r := waitReply(t, reply); !r.ok {
			t.Fatalf("answer = %+v", r)
		}
		_, view := stopModel(t, tm)
		if !strings.Contains(view, c.want) {
			t.Errorf("resumable %d: the wait screen lacks %q:\n%s", c.resumable, c.want, view)
		}
	}
}

func TestOfferScrolls(t *testing.T) {
	tm := startModel(t, testOptions(Receiving), 80, 24)
	tm.Send(offerMsg{offer: sampleOffer(30), reply: make(chan acceptReply, 1)})
	tm.Send(tea.KeyMsg{Type: tea.KeyPgDown})
	_, view := stopModel(t, tm)
	if strings.Contains(view, "photo-01.jpg") || !strings.Contains(view, "photo-12.jpg") {
		t.Fatalf("page down did not scroll the list:\n%s", view)
	}
	if !strings.Contains(view, "entries 13–24 of 31") {
		t.Fatalf("the scroll position is not shown:\n%s", view)
	}
}

// TestOfferScrollsToTheEnd: the list reaches the last of many entries
// (issue 18, item 2: no entry is left out of the offer screen).
func TestOfferScrollsToTheEnd(t *testing.T) {
	tm := startModel(t, testOptions(Receiving), 80, 24)
	tm.Send(offerMsg{offer: sampleOffer(999), reply: make(chan acceptReply, 1)})
	tm.Send(tea.KeyMsg{Type: tea.KeyEnd})
	tm.Send(tea.KeyMsg{Type: tea.KeyUp})
	_, view := stopModel(t, tm)
	if !strings.Contains(view, "photo-998.jpg") || strings.Contains(view, "photo-999.jpg") || !strings.Contains(view, "–999 of 1000") {
		t.Fatalf("end then up does not show the last entries but one:\n%s", view)
	}
}

func TestResize(t *testing.T) {
	tm := startModel(t, testOptions(Sending), 100, 30)
	sendAll(tm, progressEvents()...)
	tm.Send(tea.WindowSizeMsg{Width: 40, Height: 20})
	_, narrow := stopModel(t, tm)

	tm = startModel(t, testOptions(Sending), 100, 30)
	sendAll(tm, progressEvents()...)
	_, wide := stopModel(t, tm)

	if barWidth(narrow) >= barWidth(wide) {
		t.Fatalf("the bar did not shrink with the window: %d >= %d\nnarrow:\n%s\nwide:\n%s", barWidth(narrow), barWidth(wide), narrow, wide)
	}
	for _, l := range strings.Split(narrow, "\n") {
		if w := lipgloss.Width(l); w > 40 {
			t.Errorf("line wider than the 40-column window (%d): %q", w, l)
		}
	}
}

// barWidth is the number of bar cells in a view.
func barWidth(view string) int {
	for _, l := range strings.Split(view, "\n") {
		if strings.Contains(l, "█") || strings.Contains(l, "░") {
			return strings.Count(l, "█") + strings.Count(l, "░")
		}
	}
	return 0
}

func TestResizeWrapsCommand(t *testing.T) {
	opts := testOptions(Sending)
	opts.ReceiveCommand = func(code string) string {
		return "bob recv --relay 192.168.1.20:9009,10.0.0.4:9009,[fd00::1]:9009 " + code
	}
	tm := startModel(t, opts, 120, 30)
	sendAll(tm, senderCode())
	tm.Send(tea.WindowSizeMsg{Width: 50, Height: 30})
	_, view := stopModel(t, tm)
	continued := false
	for _, l := range strings.Split(view, "\n") {
		continued = continued || strings.HasSuffix(strings.TrimRight(l, " "), " \\")
	}
	if !continued {
		t.Fatalf("the long command was not wrapped with a continuation:\n%s", view)
	}
	for _, l := range strings.Split(view, "\n") {
		if w := lipgloss.Width(l); w > 50 {
			t.Errorf("line wider than the window (%d): %q", w, l)
		}
	}
}

func TestCancelKey(t *testing.T) {
	for _, key := range []tea.KeyMsg{{Type: tea.KeyCtrlC}, {Type: tea.KeyRunes, Runes: []rune("q")}} {
		t.Run(key.String(), func(t *testing.T) {
			cancelled := make(chan struct{}, 2)
			opts := testOptions(Sending)
			opts.Cancel = func() { cancelled <- struct{}{} }
			tm := startModel(t, opts, 80, 24)
			sendAll(tm, senderCode())
			tm.Send(key)
			select {
			case <-cancelled:
			case <-time.After(10 * time.Second):
				t.Fatal("Cancel was not called")
			}
			m, view := stopModel(t, tm)
			if !m.cancelling || !strings.Contains(view, "cancelling…") {
				t.Fatalf("the view does not say it is cancelling:\n%s", view)
			}
		})
	}
}

func TestCancelDuringPrompt(t *testing.T) {
	cancelled := make(chan struct{}, 1)
	opts := testOptions(Receiving)
	opts.Cancel = func() { cancelled <- struct{}{} }
	tm := startModel(t, opts, 80, 24)
	reply := make(chan acceptReply, 1)
	tm.Send(offerMsg{offer: sampleOffer(3), reply: reply})
	tm.Send(tea.KeyMsg{Type: tea.KeyCtrlC})
	r := waitReply(t, reply)
	if r.ok || !errors.Is(r.err, context.Canceled) {
		t.Fatalf("ctrl+c at the prompt answered %v, %v; want false, cancelled", r.ok, r.err)
	}
	<-cancelled
	stopModel(t, tm)
}

func TestSecondCtrlCQuits(t *testing.T) {
	opts := testOptions(Sending)
	opts.Cancel = func() {}
	tm := startModel(t, opts, 80, 24)
	tm.Send(tea.KeyMsg{Type: tea.KeyCtrlC})
	tm.Send(tea.KeyMsg{Type: tea.KeyCtrlC})
	m := tm.FinalModel(t, teatest.WithFinalTimeout(10*time.Second)).(model)
	if !m.quitting || m.closed {
		t.Fatalf("second ctrl+c: quitting=%v closed=%v", m.quitting, m.closed)
	}
}

func TestSignalsBecomeCancel(t *testing.T) {
	m := newModel(newConfig(testOptions(Sending), lipgloss.NewRenderer(nil), false))
	if _, ok := filterSignals(m, tea.InterruptMsg{}).(interruptMsg); !ok {
		t.Error("SIGINT is not turned into a cancel")
	}
	if _, ok := filterSignals(m, tea.QuitMsg{}).(interruptMsg); !ok {
		t.Error("SIGTERM (an unasked-for quit) is not turned into a cancel")
	}
	m.quitting = true
	if _, ok := filterSignals(m, tea.QuitMsg{}).(tea.QuitMsg); !ok {
		t.Error("the model's own quit was filtered")
	}
}

func TestHostileNamesInTUI(t *testing.T) {
	o := transfer.OfferReceived{Files: 1, TotalBytes: 10, Entries: []transfer.OfferEntry{{Path: hostile, Size: 10}}}
	check := func(t *testing.T, view string) {
		t.Helper()
		if strings.ContainsAny(view, "\x1b\x07") || strings.Contains(view, "\nname.txt") {
			t.Fatalf("a hostile name reached the view raw: %q", view)
		}
		if !strings.Contains(view, `evil\x1b]0;pwned\a\nname.txt`) {
			t.Fatalf("the escaped name is missing: %q", view)
		}
	}
	t.Run("offer", func(t *testing.T) {
		tm := startModel(t, testOptions(Receiving), 80, 24)
		tm.Send(offerMsg{offer: o, reply: make(chan acceptReply, 1)})
		_, view := stopModel(t, tm)
		check(t, view)
	})
	t.Run("progress", func(t *testing.T) {
		tm := startModel(t, testOptions(Receiving), 200, 24)
		sendAll(tm, o, transfer.Accepted{}, transfer.Progress{Done: 5, Total: 10, File: hostile, FileIndex: 1, Files: 2, Elapsed: time.Second})
		_, view := stopModel(t, tm)
		check(t, view)
	})
}

func TestEventsAfterCloseAreIgnored(t *testing.T) {
	tm := startModel(t, testOptions(Sending), 80, 24)
	tm.Send(closeMsg{})
	m := tm.FinalModel(t, teatest.WithFinalTimeout(10*time.Second)).(model)
	next, cmd := m.Update(eventMsg{transfer.Progress{Done: 1, Total: 2}})
	if cmd != nil || next.(model).View() != m.View() {
		t.Fatal("an event after Close changed the view")
	}
}

// clashOffer has one file that is already here (issue 16, item 9).
func clashOffer() transfer.OfferReceived {
	o := sampleOffer(3)
	o.Entries[2].Clash = true
	return o
}

// TestClashPrompt: an offer with files that exist asks overwrite, keep
// both, skip those or cancel; Cancel is where the highlight starts.
func TestClashPrompt(t *testing.T) {
	runes := func(s string) tea.KeyMsg { return tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(s)} }
	cases := []struct {
		name string
		keys []tea.KeyMsg
		ok   bool
		want transfer.ClashChoice
	}{
		{"o overwrites", []tea.KeyMsg{runes("o")}, true, transfer.ClashOverwrite},
		{"k keeps both", []tea.KeyMsg{runes("k")}, true, transfer.ClashKeepBoth},
		{"s skips those", []tea.KeyMsg{runes("s")}, true, transfer.ClashSkip},
		{"n cancels", []tea.KeyMsg{runes("n")}, false, transfer.ClashCancel},
		{"y does not accept", []tea.KeyMsg{runes("y"), {Type: tea.KeyEnter}}, false, transfer.ClashCancel},
		{"enter takes the highlighted Cancel", []tea.KeyMsg{{Type: tea.KeyEnter}}, false, transfer.ClashCancel},
		{"left twice from Cancel is Keep both", []tea.KeyMsg{{Type: tea.KeyLeft}, {Type: tea.KeyLeft}, {Type: tea.KeyEnter}}, true, transfer.ClashKeepBoth},
		{"tab cycles to Overwrite", []tea.KeyMsg{{Type: tea.KeyTab}, {Type: tea.KeyEnter}}, true, transfer.ClashOverwrite},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tm := startModel(t, testOptions(Receiving), 80, 24)
			reply := make(chan acceptReply, 1)
			tm.Send(offerMsg{offer: clashOffer(), clash: true, reply: reply})
			for _, k := range c.keys {
				tm.Send(k)
			}
			r := waitReply(t, reply)
			if r.err != nil || r.ok != c.ok || r.choice != c.want {
				t.Fatalf("answer = %v, %v, %v; want %v, %v", r.ok, r.choice, r.err, c.ok, c.want)
			}
			stopModel(t, tm)
		})
	}
}

// TestGoldenReceiverClash: the files that exist are marked in the list and
// named above the question.
func TestGoldenReceiverClash(t *testing.T) {
	tm := startModel(t, testOptions(Receiving), 80, 24)
	tm.Send(offerMsg{offer: clashOffer(), clash: true, reply: make(chan acceptReply, 1)})
	_, view := stopModel(t, tm)
	for _, want := range []string{
		"holiday/photo-02.jpg (2.5 MB)  ! a file of this name is here",
		"! 1 file of this name is already here: holiday/photo-02.jpg",
		"Some files are already here. What should bob do with them?",
		"Overwrite", "Keep both", "Skip those", "Cancel",
	} {
		if !strings.Contains(view, want) {
			t.Errorf("the offer lacks %q:\n%s", want, view)
		}
	}
	teatest.RequireEqualOutput(t, []byte(view))
}
