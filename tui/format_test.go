package tui

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/bob-p2p/bob/transfer"
)

func TestEWMA(t *testing.T) {
	// After exactly one half-life the sample counts for half.
	if got := ewma(100, 200, 2*time.Second, 2*time.Second); math.Abs(got-150) > 1e-9 {
		t.Errorf("ewma after one half-life = %v, want 150", got)
	}
	// A zero interval changes nothing.
	if got := ewma(100, 1e9, 0, 2*time.Second); got != 100 {
		t.Errorf("ewma with dt=0 = %v, want 100", got)
	}
	// A longer interval weighs the sample more than a shorter one.
	short := ewma(100, 200, 100*time.Millisecond, 2*time.Second)
	long := ewma(100, 200, 4*time.Second, 2*time.Second)
	if !(100 < short && short < long && long < 200) {
		t.Errorf("ewma weights: short=%v long=%v, want 100 < short < long < 200", short, long)
	}
	if got := ewma(100, 200, time.Second, 0); got != 200 {
		t.Errorf("ewma with no half-life = %v, want the sample", got)
	}
}

func TestETA(t *testing.T) {
	cases := []struct {
		remaining int64
		rate      float64
		want      time.Duration
		ok        bool
	}{
		{1000, 100, 10 * time.Second, true},
		{0, 100, 0, true},
		{1000, 0, 0, false},
		{-1, 100, 0, false},
		{1000, math.NaN(), 0, false},
		{math.MaxInt64, 1e-9, 0, false},
	}
	for _, c := range cases {
		got, ok := eta(c.remaining, c.rate)
		if got != c.want || ok != c.ok {
			t.Errorf("eta(%d, %v) = %v, %v; want %v, %v", c.remaining, c.rate, got, ok, c.want, c.ok)
		}
	}
}

func TestSpeedMeter(t *testing.T) {
	var m speedMeter
	// One point gives no speed: nothing is known of how long the bytes took.
	if got := m.observe(1000, time.Second); got != 0 {
		t.Fatalf("first observation = %v, want 0 (unknown)", got)
	}
	// A steady rate stays steady, through the first seconds' plain average
	// and the exponential one after them.
	for i := 2; i <= 10; i++ {
		if got := m.observe(int64(i)*1000, time.Duration(i)*time.Second); math.Abs(got-1000) > 1e-6 {
			t.Fatalf("steady rate at %ds = %v, want 1000", i, got)
		}
	}
	// A jump is followed, but smoothly.
	got := m.observe(10000+10000, 11*time.Second)
	if !(1000 < got && got < 10000) {
		t.Fatalf("after a jump rate = %v, want between 1000 and 10000", got)
	}
	// Time going backwards (a bogus event) changes nothing.
	if again := m.observe(0, time.Second); again != got {
		t.Fatalf("bogus event changed the rate: %v -> %v", got, again)
	}
}

// TestSpeedMeterIgnoresTheWaitBeforeData: Elapsed counts from the session's
// start, which includes waiting for the other side to accept; the speed
// shown must be that of the data from the first event on, at once.
func TestSpeedMeterIgnoresTheWaitBeforeData(t *testing.T) {
	var m speedMeter
	m.observe(0, 30*time.Second) // half a minute waiting for an answer
	want := 480e6
	for i := 1; i <= 6; i++ {
		at := 30*time.Second + time.Duration(i)*100*time.Millisecond
		got := m.observe(int64(want*float64(i)/10), at)
		if math.Abs(got-want)/want > 1e-9 {
			t.Fatalf("after %v of data: %.0f B/s, want %.0f", at-30*time.Second, got, want)
		}
	}
}

func TestFormatDuration(t *testing.T) {
	cases := map[time.Duration]string{
		0:                           "0s",
		-time.Second:                "0s",
		1499 * time.Millisecond:     "1s",
		42 * time.Second:            "42s",
		185 * time.Second:           "3m05s",
		2*time.Hour + 7*time.Minute: "2h07m",
	}
	for d, want := range cases {
		if got := formatDuration(d); got != want {
			t.Errorf("formatDuration(%v) = %q, want %q", d, got, want)
		}
	}
	if got := formatElapsed(1500 * time.Millisecond); got != "1.5s" {
		t.Errorf("formatElapsed(1.5s) = %q", got)
	}
}

func TestCompressionSaving(t *testing.T) {
	if s, ok := compressionSaving(1000, 250); !ok || math.Abs(s-0.75) > 1e-9 {
		t.Errorf("compressionSaving(1000, 250) = %v, %v", s, ok)
	}
	for _, c := range [][2]int64{{1000, 1000}, {1000, 1200}, {0, 0}, {1000, 0}, {1000, 999}} {
		if _, ok := compressionSaving(c[0], c[1]); ok {
			t.Errorf("compressionSaving(%d, %d) reported a saving", c[0], c[1])
		}
	}
}

func TestFraction(t *testing.T) {
	if fraction(50, 100) != 0.5 || fraction(200, 100) != 1 || fraction(5, -1) != 0 || fraction(0, 0) != 1 {
		t.Error("fraction is wrong")
	}
}

func TestOfferWhat(t *testing.T) {
	cases := []struct {
		o    transfer.OfferReceived
		want string
	}{
		{transfer.OfferReceived{Files: 1, TotalBytes: 1200}, "1 file (1.2 kB)"},
		{transfer.OfferReceived{Files: 3, Folders: 1, TotalBytes: 12_000_000}, "3 files and 1 folder (12 MB)"},
		{transfer.OfferReceived{IsText: true, TotalBytes: 20}, "a text message (20 B)"},
		{transfer.OfferReceived{IsStream: true, TotalBytes: -1}, "a stream of unknown size"},
	}
	for _, c := range cases {
		if got := offerWhat(c.o); got != c.want {
			t.Errorf("offerWhat(%+v) = %q, want %q", c.o, got, c.want)
		}
	}
}

func TestWrapCommand(t *testing.T) {
	cmd := "bob recv --relay 192.168.1.20:9009,10.0.0.4:9009 7-guitarist-revenge"
	if got := wrapCommand(cmd, 200); len(got) != 1 || got[0] != cmd {
		t.Fatalf("wide enough: %q", got)
	}
	lines := wrapCommand(cmd, 40)
	if len(lines) < 2 {
		t.Fatalf("not wrapped: %q", lines)
	}
	var words []string
	for i, l := range lines {
		if len(l) > 40 {
			t.Errorf("line %d too wide: %q", i, l)
		}
		if i < len(lines)-1 && !strings.HasSuffix(l, " \\") {
			t.Errorf("line %d has no continuation: %q", i, l)
		}
		words = append(words, strings.Fields(strings.TrimSuffix(l, " \\"))...)
	}
	if strings.Join(words, " ") != cmd {
		t.Errorf("wrapping lost words: %q", lines)
	}
}

// TestUnitsAreSI: every size and speed the views show is in SI units
// (powers of 1000), as in the rest of bob's output: the offer says 21 MB,
// never 20 MiB.
func TestUnitsAreSI(t *testing.T) {
	for _, c := range []struct {
		got, want string
	}{
		{size(20 << 20), "21 MB"},
		{size(5 << 20), "5.2 MB"},
		{size(999), "999 B"},
		{size(1_000), "1.0 kB"},
		{size(2_100_000_000), "2.1 GB"},
		{rate(648_000_000), "648 MB/s"},
		{plainRate(1 << 10), "1.0 kB/s"},
		{offerWhat(transfer.OfferReceived{Files: 2, TotalBytes: 20 << 20}), "2 files (21 MB)"},
		{changedEntry(transfer.Changed{Path: "a", Sent: 1 << 20, Now: 2 << 20}), "a (1.0 MB offered, 2.1 MB now)"},
	} {
		if c.got != c.want || strings.Contains(c.got, "iB") {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
}

// TestOfferWarningsCount: a warning names the first three flagged entries
// and counts the rest.
func TestOfferWarningsCount(t *testing.T) {
	var o transfer.OfferReceived
	for _, p := range []string{"a", ".b", ".c", "d/.e", ".f", ".g"} {
		o.Entries = append(o.Entries, transfer.OfferEntry{Path: p, Hidden: p != "a"})
	}
	got := offerWarnings(o)
	want := "5 entries have hidden names (starting with a dot): .b, .c, d/.e and 2 more"
	if len(got) != 1 || got[0] != want {
		t.Fatalf("warnings = %q, want %q", got, want)
	}
}
