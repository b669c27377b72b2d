package tui

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/bob-p2p/bob/internal/safeterm"
	"github.com/bob-p2p/bob/transfer"
	"github.com/charmbracelet/x/exp/teatest"
)

// resumeEvents are the four outcomes of files an earlier transfer left in
// the output folder (issue 16, item 8), one with a hostile name.
func resumeEvents() []transfer.Event {
	return []transfer.Event{
		transfer.ResumeChecked{Path: "done.bin", Size: 42_000_000, Held: 42_000_000, Complete: true, Matched: true},
		transfer.ResumeChecked{Path: "big.bin", Size: 400_000_000, Held: 144_000_000, Matched: true},
		transfer.ResumeChecked{Path: "forty.bin", Size: 40_000_000, Held: 10_000_000},
		transfer.ResumeChecked{Path: hostile, Size: 5_000_000, Held: 5_000_000, Complete: true},
	}
}

var resumeWant = []string{
	"done.bin: already complete",
	"big.bin: resuming at 144 MB",
	"forty.bin: the 10 MB part file did not match and was replaced",
	safeterm.Escape(hostile) + ": the file here did not match and was replaced",
}

// An unrelated part file is not announced as bytes that will not be sent
// again: the offer says what is here is compared, and after the answer
// each file's outcome is said.
func TestPlainResumeOutcomes(t *testing.T) {
	var out bytes.Buffer
	v := newPlain(Options{Out: &out, Role: Receiving}, newFakeClock().now)
	v.Event(transfer.OfferReceived{Files: 4, TotalBytes: 487_000_000, Resumable: 201_000_000,
		Entries: []transfer.OfferEntry{{Path: "done.bin", Size: 42_000_000}}})
	for _, e := range resumeEvents() {
		v.Event(e)
	}
	v.Close(nil)
	got := out.String()
	if strings.Contains(got, "will not be sent again") {
		t.Errorf("the offer promises what is here will not be sent again, before it was compared:\n%s", got)
	}
	want := "  201 MB from an earlier transfer is here; what matches the sender's files is not sent again\n" +
		strings.Join(resumeWant, "\n") + "\n"
	if !strings.HasSuffix(got, want) {
		t.Errorf("got:\n%s\nwant it to end with:\n%s", got, want)
	}
}

func TestJSONResumeOutcomes(t *testing.T) {
	var out bytes.Buffer
	v := newJSON(&out, Options{}, newFakeClock().now)
	for _, e := range resumeEvents() {
		v.Event(e)
	}
	want := []string{
		`{"event":"resume","path":"done.bin","size":42000000,"held":42000000,"outcome":"already_complete","part":false}`,
		`{"event":"resume","path":"big.bin","size":400000000,"held":144000000,"outcome":"resuming","part":true}`,
		`{"event":"resume","path":"forty.bin","size":40000000,"held":10000000,"outcome":"replaced","part":true}`,
		`{"event":"resume","path":"evil\\x1b]0;pwned\\a\\nname.txt","size":5000000,"held":5000000,"outcome":"replaced","part":false}`,
	}
	got := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// The TUI lists the outcomes on the progress screen (the first few) and in
// the summary.
func TestGoldenProgressResumed(t *testing.T) {
	tm := startModel(t, testOptions(Receiving), 80, 24)
	o := transfer.OfferReceived{Files: 4, TotalBytes: 487_000_000, Resumable: 201_000_000}
	sendAll(tm, o)
	sendAll(tm, resumeEvents()...)
	sendAll(tm, transfer.Accepted{ResumeBytes: 186_000_000},
		transfer.Progress{Done: 200_000_000, Resumed: 186_000_000, Total: 487_000_000, WireBytes: 14_000_000,
			File: "big.bin", FileIndex: 2, Files: 4, Elapsed: time.Second})
	_, view := stopModel(t, tm)
	for _, want := range resumeWant[:maxResumeShown] {
		if !strings.Contains(view, want) {
			t.Errorf("the progress screen lacks %q:\n%s", want, view)
		}
	}
	teatest.RequireEqualOutput(t, []byte(view))
}

func TestGoldenSummaryResumed(t *testing.T) {
	tm := startModel(t, testOptions(Receiving), 80, 24)
	sendAll(tm, resumeEvents()...)
	sendAll(tm, transfer.Accepted{ResumeBytes: 186_000_000},
		transfer.Done{Files: 4, Bytes: 487_000_000, WireBytes: 301_000_000, Elapsed: 95 * time.Second,
			OutDir: "/home/ada/Downloads", Via: "relay 192.168.1.20:9009", Resumed: 186_000_000})
	view := closeAndView(t, tm, nil)
	for _, want := range resumeWant {
		if !strings.Contains(view, want) {
			t.Errorf("the summary lacks %q:\n%s", want, view)
		}
	}
	teatest.RequireEqualOutput(t, []byte(view))
}
