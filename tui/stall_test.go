package tui

import (
	"io"
	"strings"
	"testing"
	"time"

	"github.com/bob-p2p/bob/transfer"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"go.uber.org/goleak"
)

// fastThenCut is a transfer at 650 MB/s for four seconds, then nothing.
func fastThenCut() []transfer.Progress {
	var ps []transfer.Progress
	for i := 1; i <= 40; i++ {
		ps = append(ps, transfer.Progress{Done: int64(i) * 65_000_000, Total: 10_000_000_000, File: "big.iso",
			FileIndex: 1, Files: 1, Elapsed: time.Duration(i) * 100 * time.Millisecond})
	}
	return ps
}

// TestStallShown: when data stops, the speed and time left fall with
// every tick instead of showing the last rate, and after a few seconds
// the screen says the transfer is stalled, for how long, on both sides.
func TestStallShown(t *testing.T) {
	for _, role := range []Role{Sending, Receiving} {
		clock := newFakeClock()
		cfg := newConfig(testOptions(role), lipgloss.NewRenderer(io.Discard), false)
		cfg.now = clock.now
		m := feed(newModel(cfg), tea.WindowSizeMsg{Width: 100, Height: 30}, eventMsg{transfer.Accepted{}})
		for _, p := range fastThenCut() {
			clock.add(100 * time.Millisecond)
			m = feed(m, eventMsg{p})
		}
		view := m.View()
		if !strings.Contains(view, "650 MB/s") || strings.Contains(view, "stalled") {
			t.Fatalf("role %d: while data moves:\n%s", role, view)
		}
		prev := m.progress.meter.decayed(0)
		for s := 1; s <= 12; s++ {
			clock.add(time.Second)
			m = feed(m, tickMsg{})
			speed := m.progress.meter.decayed(m.progress.watch.quiet(clock.now()))
			if s > 1 && speed >= prev {
				t.Fatalf("role %d: %ds without data the speed did not fall: %.0f >= %.0f", role, s, speed, prev)
			}
			prev = speed
			view = m.View()
			if s < 3 && strings.Contains(view, "stalled") {
				t.Fatalf("role %d: stalled after %ds:\n%s", role, s, view)
			}
		}
		if prev > 650_000_000/32 {
			t.Errorf("role %d: after 12s without data the speed is still %.0f B/s", role, prev)
		}
		if !strings.Contains(view, "2.6 GB of 10 GB · stalled, waiting for data (12s)") || strings.Contains(view, " left") {
			t.Fatalf("role %d: 12s without data:\n%s", role, view)
		}
		// Data again: the note goes.
		clock.add(100 * time.Millisecond)
		m = feed(m, eventMsg{transfer.Progress{Done: 2_700_000_000, Total: 10_000_000_000, File: "big.iso", FileIndex: 1, Files: 1, Elapsed: 16 * time.Second}})
		if view = m.View(); strings.Contains(view, "stalled") {
			t.Fatalf("role %d: still stalled after data came:\n%s", role, view)
		}
	}
}

// TestNoStallWhenComplete: waiting after the last byte (closing files) is
// not waiting for data.
func TestNoStallWhenComplete(t *testing.T) {
	clock := newFakeClock()
	cfg := newConfig(testOptions(Receiving), lipgloss.NewRenderer(io.Discard), false)
	cfg.now = clock.now
	m := feed(newModel(cfg), eventMsg{transfer.Progress{Done: 10, Total: 10, FileIndex: 1, Files: 1, Elapsed: time.Second}})
	clock.add(time.Minute)
	if view := feed(m, tickMsg{}).View(); strings.Contains(view, "stalled") {
		t.Fatalf("a complete transfer is shown as stalled:\n%s", view)
	}
}

func TestPlainStall(t *testing.T) {
	clock := newFakeClock()
	var out strings.Builder
	v := newPlain(Options{Out: &out, Role: Receiving}, clock.now)
	for _, p := range fastThenCut() {
		clock.add(100 * time.Millisecond)
		v.Event(p)
	}
	before := out.String()
	for s := 1; s <= 12; s++ {
		clock.add(time.Second)
		v.checkStall()
	}
	said := strings.TrimPrefix(out.String(), before)
	if said != "stalled, waiting for data (3s)\n" {
		t.Fatalf("12s without data printed %q, want one stalled line", said)
	}
	clock.add(100 * time.Millisecond)
	v.Event(transfer.Progress{Done: 2_700_000_000, Total: 10_000_000_000, File: "big.iso", FileIndex: 1, Files: 1, Elapsed: 16 * time.Second})
	if again := strings.TrimPrefix(out.String(), before+said); !strings.HasPrefix(again, "progress:  27% 2.7 GB of 10 GB") {
		t.Fatalf("data after a stall printed %q, want a progress line at once", again)
	}
	v.Event(transfer.Done{Files: 1, Bytes: 10_000_000_000})
	clock.add(time.Minute)
	n := len(out.String())
	v.checkStall()
	if len(out.String()) != n {
		t.Fatalf("a stall was reported after Done:\n%s", out.String())
	}
	v.Close(nil)
}

// TestPlainStallWatcherEnds: the goroutine NewPlain starts ends with Close.
func TestPlainStallWatcherEnds(t *testing.T) {
	defer goleak.VerifyNone(t, teatestSignalWatcher)
	v := NewPlain(Options{Out: io.Discard})
	v.Close(nil)
	v.Close(nil)
}
