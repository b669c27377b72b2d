package tui

import (
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/bob-p2p/bob/transfer"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"go.uber.org/goleak"
)

// longCommand is a receive command that has to wrap in a narrow window.
func longCommand(code string) string {
	return "bob recv --relay 192.168.1.20:9009,10.0.0.4:9009,[fd00::1]:9009 " + code
}

// feed gives msgs to m as the program would, ignoring commands.
func feed(m model, msgs ...tea.Msg) model {
	for _, msg := range msgs {
		next, _ := m.Update(msg)
		m = next.(model)
	}
	return m
}

func events(es ...transfer.Event) []tea.Msg {
	msgs := make([]tea.Msg, len(es))
	for i, e := range es {
		msgs[i] = eventMsg{e}
	}
	return msgs
}

// TestScreensFitTheWindow: no screen draws a line wider than the window or
// more lines than it has, whatever its size; the summary fits the width.
func TestScreensFitTheWindow(t *testing.T) {
	long := transfer.OfferReceived{Files: 30, Folders: 1, TotalBytes: 1 << 40, Entries: sampleOffer(29).Entries}
	long.Entries[3].Path = strings.Repeat("a-very-long-folder-name/", 8) + "file.bin"
	screens := map[string][]tea.Msg{
		"sender waiting": events(transfer.Connecting{Relay: "192.168.1.20:9009"}, senderCode()),
		"receiver connecting": events(transfer.Connecting{Relay: "192.168.1.20:9009"}, transfer.Paired{},
			transfer.Secured{Cipher: "Noise_NN_25519_ChaChaPoly_BLAKE2s"}),
		"offer":    {offerMsg{offer: long, reply: make(chan acceptReply, 1)}},
		"progress": events(progressEvents()...),
		"stream": events(transfer.Accepted{}, transfer.Progress{Done: 5_000_000, Total: -1, Elapsed: time.Second},
			transfer.Progress{Done: 9_000_000, Total: -1, Elapsed: 2 * time.Second}),
		"cancelling": append(events(progressEvents()...), interruptMsg{}),
	}
	for name, msgs := range screens {
		for _, qr := range []bool{false, true} {
			for _, width := range []int{40, 80, 120} {
				for _, height := range []int{12, 24, 50} {
					opts := testOptions(Sending)
					opts.QR = qr
					opts.ReceiveCommand = longCommand
					m := newModel(newConfig(opts, lipgloss.NewRenderer(io.Discard), false))
					m = feed(m, tea.WindowSizeMsg{Width: width, Height: height})
					m = feed(m, msgs...)
					view := m.View()
					checkFits(t, name, view, width, height)
					// The offer shrinks its list, not what it asks.
					if name == "offer" && (!strings.Contains(view, "The sender offers") || !strings.Contains(view, "Decline") || !strings.Contains(view, "ctrl+c cancel")) {
						t.Errorf("offer at %dx%d lost its question:\n%s", width, height, view)
					}
				}
			}
		}
	}
	summaries := map[string]transfer.Done{
		"summary": {Files: 3, Bytes: 7_407_402, WireBytes: 4_444_441, Elapsed: 3 * time.Second,
			OutDir: "/home/ada/" + strings.Repeat("Downloads/", 12), Via: "relay 192.168.1.20:9009"},
	}
	for name, done := range summaries {
		for _, width := range []int{40, 80, 120} {
			m := newModel(newConfig(testOptions(Receiving), lipgloss.NewRenderer(io.Discard), false))
			m = feed(m, tea.WindowSizeMsg{Width: width, Height: 12})
			m = feed(m, events(transfer.Skipped{Path: strings.Repeat("x", 150), Reason: "symbolic link"}, done,
				transfer.TextReceived{Text: strings.Repeat("word ", 60)})...)
			m = feed(m, closeMsg{})
			checkFits(t, name, m.finalText(), width, 0)
			m = feed(newModel(newConfig(testOptions(Receiving), lipgloss.NewRenderer(io.Discard), false)),
				tea.WindowSizeMsg{Width: width, Height: 12}, closeMsg{err: io.EOF})
			checkFits(t, "error", m.finalText(), width, 0)
		}
	}
}

// checkFits fails if view has a line wider than width, or more lines than
// height when height > 0 (the renderer counts the empty line after the
// last newline too).
func checkFits(t *testing.T, name, view string, width, height int) {
	t.Helper()
	lines := strings.Split(view, "\n")
	for _, l := range lines {
		if w := lipgloss.Width(l); w > width {
			t.Errorf("%s at %d columns: a line is %d wide: %q", name, width, w, l)
		}
	}
	if height > 0 && len(lines) > height {
		t.Errorf("%s at %dx%d: %d lines:\n%s", name, width, height, len(lines), view)
	}
	if strings.TrimSpace(view) == "" {
		t.Errorf("%s at %dx%d: nothing drawn", name, width, height)
	}
}

// TestResizeLeavesNoGhosts runs the view on a terminal that rewraps and
// scrolls on a resize as tmux does. 120 columns, then 40x12, then 120
// again must show one copy of the view, and at the end the summary alone.
// What the terminal itself pushed into its scrollback when it shrank
// cannot be erased; the window must be clean.
func TestResizeLeavesNoGhosts(t *testing.T) {
	defer goleak.VerifyNone(t, teatestSignalWatcher)
	term := newVterm(120, 30)
	pr, keys := io.Pipe()
	defer keys.Close()
	opts := testOptions(Sending)
	opts.ReceiveCommand = longCommand
	opts.In, opts.Out, opts.Width, opts.Height = pr, term, 120, 30
	v := newTUI(opts, false)
	defer v.Close(nil) // ends the program if the test fails first
	v.prog.Send(tea.WindowSizeMsg{Width: 120, Height: 30})
	v.Event(transfer.Connecting{Relay: "192.168.1.20:9009"})
	v.Event(senderCode())
	const header = "bob · send"
	// settled waits until the window shows one view drawn for its size:
	// narrow, the command wraps and the code has no box (and the header
	// may give way to the rest); wide, the whole terminal, scrollback
	// included, holds exactly one header.
	settled := func(stage string, narrow bool) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			screen := term.screenText()
			ok := strings.Count(screen, "then type the code") == 1 && strings.Count(screen, "ctrl+c cancel") == 1
			if narrow {
				ok = ok && strings.Contains(screen, " \\\n") && !strings.Contains(screen, "╭") && strings.Count(screen, header) <= 1
			} else {
				ok = ok && !strings.Contains(screen, " \\\n") && strings.Count(screen, "╭") == 1 && strings.Count(term.text(), header) == 1
			}
			if ok {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: the terminal does not show exactly one view:\n%s", stage, term.text())
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	settled("at 120 columns", false)
	for _, size := range [][2]int{{40, 12}, {120, 30}, {40, 12}, {120, 30}} {
		term.resize(size[0], size[1])
		v.prog.Send(tea.WindowSizeMsg{Width: size[0], Height: size[1]})
		settled(fmt.Sprintf("after the resize to %dx%d", size[0], size[1]), size[0] < 100)
	}
	v.Event(transfer.Done{Files: 3, Bytes: 7_407_402, WireBytes: 7_407_402, Elapsed: 3 * time.Second})
	v.Close(nil)
	text := term.text()
	if strings.Count(text, header) != 0 || strings.Count(text, "7-guitarist-revenge") != 0 || strings.Count(text, "✓ Sent 3 files") != 1 {
		t.Fatalf("the terminal after the end holds stale views or no summary:\n%s", text)
	}
}
