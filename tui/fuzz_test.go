package tui

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/bob-p2p/bob/transfer"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
)

// peerEvents are events carrying s everywhere a peer chooses a string.
func peerEvents(s string) []transfer.Event {
	o := transfer.OfferReceived{Files: 2, TotalBytes: 20, Entries: []transfer.OfferEntry{{Path: s, IsDir: true}, {Path: s, Size: 10}}}
	return []transfer.Event{
		o,
		transfer.ResumeChecked{Path: s, Size: 10, Held: 4, Matched: true},
		transfer.ResumeChecked{Path: s, Size: 10, Held: 4},
		transfer.Accepted{},
		transfer.Progress{Done: 5, Total: 20, File: s, FileIndex: 1, Files: 2, Elapsed: time.Second},
		transfer.FileDone{Path: s, Size: 10},
		transfer.Skipped{Path: s, Reason: s},
		transfer.Changed{Path: s, Sent: 10, Now: 12},
		transfer.TextReceived{Text: s},
		transfer.Done{Files: 2, Bytes: 20, OutDir: s, Via: s},
	}
}

// FuzzViewsEscape checks that no peer string, whatever its bytes, puts a
// control character on the screen in any mode, or breaks a JSON line.
func FuzzViewsEscape(f *testing.F) {
	f.Add(hostile)
	f.Add("\x9b31m\u202eexe.txt")
	f.Add("\xff\xfe\r\n\t")
	f.Fuzz(func(t *testing.T, s string) {
		var plain, js bytes.Buffer
		pv := newPlain(Options{Role: Receiving, Out: &plain, In: strings.NewReader("n\n")}, time.Now)
		jv := newJSON(&js, Options{Role: Receiving}, time.Now)
		cfg := newConfig(Options{Role: Receiving}, lipgloss.NewRenderer(io.Discard), false)
		var m tea.Model = newModel(cfg)
		for _, e := range peerEvents(s) {
			pv.Event(e)
			jv.Event(e)
			m, _ = m.Update(eventMsg{e})
		}
		pv.Accept(context.Background(), peerEvents(s)[0].(transfer.OfferReceived))
		m, _ = m.Update(offerMsg{offer: peerEvents(s)[0].(transfer.OfferReceived), reply: make(chan acceptReply, 1)})
		offerView := m.View()
		m, _ = m.Update(closeMsg{})
		summaryView := m.View()
		pv.Close(errors.New(s))
		jv.Close(errors.New(s))

		for name, out := range map[string]string{"plain": plain.String(), "tui offer": offerView, "tui summary": summaryView} {
			for _, r := range out {
				if r != '\n' && (r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0)) {
					t.Fatalf("%s output has control character %U for %q:\n%q", name, r, s, out)
				}
			}
		}
		for _, line := range strings.Split(strings.TrimSuffix(js.String(), "\n"), "\n") {
			if !json.Valid([]byte(line)) {
				t.Fatalf("invalid JSON line for %q: %q", s, line)
			}
		}
		if strings.ContainsAny(js.String(), "\x1b\x07\r") {
			t.Fatalf("JSON output has a raw control byte for %q", s)
		}
	})
}
