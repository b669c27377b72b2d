package tui

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/bob-p2p/bob/transfer"
	"go.uber.org/goleak"
)

func TestPlainSender(t *testing.T) {
	var out bytes.Buffer
	opts := testOptions(Sending)
	opts.Out = &out
	clock := newFakeClock()
	v := newPlain(opts, clock.now)
	for _, e := range progressEvents() {
		v.Event(e)
		clock.add(100 * time.Millisecond)
	}
	v.Event(transfer.Done{Files: 3, Bytes: 7_407_402, WireBytes: 4_444_441, Elapsed: 3200 * time.Millisecond, Via: "relay 192.168.1.20:9009"})
	v.Close(nil)

	got := out.String()
	lines := strings.Split(got, "\n")
	if lines[0] != "code: 7-guitarist-revenge" {
		t.Errorf("first line = %q, want the code line", lines[0])
	}
	if lines[1] != "on the other machine run: bob recv --relay 192.168.1.20:9009 (then type the code)" {
		t.Errorf("second line = %q, want the receive command", lines[1])
	}
	// Four progress events 100ms apart on the same file: one line.
	if n := strings.Count(got, "progress: "); n != 1 {
		t.Errorf("%d progress lines, want 1 (rate-limited):\n%s", n, got)
	}
	for _, want := range []string{
		"offering 3 files and 1 folder (7.4 MB); waiting for the receiver to accept...",
		"sent: holiday/photo-01.jpg (1.2 MB)",
		"done: sent 3 files (7.4 MB) in 3.2s, 2.3 MB/s average, via relay 192.168.1.20:9009, compression saved 40%",
	} {
		if !strings.Contains(got, want+"\n") {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
	if strings.ContainsRune(got, 0x1b) {
		t.Errorf("plain output contains an escape byte:\n%q", got)
	}
}

func TestPlainProgressRate(t *testing.T) {
	var out bytes.Buffer
	clock := newFakeClock()
	v := newPlain(Options{Out: &out}, clock.now)
	p := transfer.Progress{Total: 1000, FileIndex: 1, Files: 2, File: "a"}
	for i := 0; i < 100; i++ { // 10 s of events, 10 a second
		p.Done = int64(i)
		p.Elapsed = time.Duration(i) * 100 * time.Millisecond
		v.Event(p)
		clock.add(100 * time.Millisecond)
	}
	if n := strings.Count(out.String(), "progress: "); n != 5 {
		t.Errorf("%d progress lines over 10 s, want 5 (one per 2 s):\n%s", n, out.String())
	}
	// A new file is worth a line at once.
	p.FileIndex, p.File = 2, "b"
	v.Event(p)
	if !strings.HasSuffix(out.String(), "file 2/2: b\n") {
		t.Errorf("a new file did not print a line:\n%s", out.String())
	}
}

func TestPlainHostile(t *testing.T) {
	var out bytes.Buffer
	opts := testOptions(Receiving)
	opts.Out = &out
	opts.In = strings.NewReader("n\n")
	opts.Describe = nil
	v := newPlain(opts, newFakeClock().now)
	o := transfer.OfferReceived{Files: 1, TotalBytes: 10, Entries: []transfer.OfferEntry{{Path: hostile, Size: 10}}}
	v.Event(transfer.Secured{Cipher: hostile})
	if ok, err := v.Accept(context.Background(), o); ok || err != nil {
		t.Fatalf("Accept = %v, %v; want a decline", ok, err)
	}
	v.Event(transfer.Progress{Done: 5, Total: 10, File: hostile, FileIndex: 1, Files: 1, Elapsed: time.Second})
	v.Event(transfer.FileDone{Path: hostile, Size: 10})
	v.Event(transfer.Skipped{Path: hostile, Reason: hostile})
	v.Event(transfer.Changed{Path: hostile, Sent: 10, Now: 12})
	v.Event(transfer.TextReceived{Text: hostile})
	v.Event(transfer.Done{Files: 1, Bytes: 10, OutDir: hostile, Via: hostile})
	v.Close(errors.New(hostile))
	got := out.String()
	if strings.ContainsAny(got, "\x1b\x07") || strings.Contains(got, "\nname.txt") {
		t.Fatalf("plain output has a raw hostile name:\n%q", got)
	}
	if n := strings.Count(got, `evil\x1b]0;pwned\a\nname.txt`); n < 10 {
		t.Fatalf("the escaped name shows %d times, want every place:\n%s", n, got)
	}
}

func TestPlainChanged(t *testing.T) {
	var out bytes.Buffer
	v := newPlain(Options{Out: &out}, newFakeClock().now)
	v.Event(transfer.Changed{Path: "logs/app.log", Sent: 4_200_000, Now: 4_300_000})
	want := "warning: logs/app.log changed while it was being sent: the receiver has the 4.2 MB offered, as they were read (the file is 4.3 MB now)\n"
	if out.String() != want {
		t.Errorf("got  %q\nwant %q", out.String(), want)
	}
}

func TestPlainAccept(t *testing.T) {
	o := sampleOffer(30)
	cases := []struct {
		in   string
		want bool
		err  error
	}{
		{"y\n", true, nil},
		{"YES\n", true, nil},
		{"n\n", false, nil},
		{"\n", false, nil},
		{"y", true, nil}, // last line without a newline
		{"", false, ErrNoAnswer},
	}
	for _, c := range cases {
		var out bytes.Buffer
		v := newPlain(Options{Role: Receiving, Out: &out, In: strings.NewReader(c.in)}, time.Now)
		ok, err := v.Accept(context.Background(), o)
		if ok != c.want || !errors.Is(err, c.err) {
			t.Errorf("answer %q: Accept = %v, %v; want %v, %v", c.in, ok, err, c.want, c.err)
		}
		got := out.String()
		if !strings.Contains(got, "Accept 30 files (574 MB)? [y/N] ") {
			t.Errorf("no prompt line:\n%s", got)
		}
		if !strings.Contains(got, "offer: 30 files and 1 folder (574 MB)\n  holiday/\n  holiday/photo-01.jpg (1.2 MB)\n") ||
			!strings.Contains(got, "  holiday/photo-30.jpg (37 MB)\nAccept") || strings.Contains(got, "more") {
			t.Errorf("the offer is not listed:\n%s", got)
		}
	}
}

func TestPlainAcceptNoKeyboard(t *testing.T) {
	v := newPlain(Options{Out: io.Discard}, time.Now)
	if ok, err := v.Accept(context.Background(), sampleOffer(1)); ok || !errors.Is(err, ErrNoAnswer) {
		t.Fatalf("Accept without In = %v, %v; want ErrNoAnswer", ok, err)
	}
}

func TestPlainAcceptContext(t *testing.T) {
	defer goleak.VerifyNone(t, teatestSignalWatcher)
	pr, pw := io.Pipe()
	v := newPlain(Options{Out: io.Discard, In: pr}, time.Now)
	ctx, cancel := context.WithCancel(context.Background())
	res := make(chan error, 1)
	go func() {
		_, err := v.Accept(ctx, sampleOffer(1))
		res <- err
	}()
	cancel()
	if err := <-res; !errors.Is(err, context.Canceled) {
		t.Fatalf("Accept after cancel = %v, want context.Canceled", err)
	}
	// The reader goroutine ends with its input.
	pw.Close()
}

func TestPlainError(t *testing.T) {
	var out bytes.Buffer
	opts := testOptions(Sending)
	opts.Out = &out
	v := NewPlain(opts)
	v.Close(errors.New("boom"))
	v.Close(errors.New("twice"))
	v.Event(transfer.Paired{})
	if got := out.String(); got != "error: The code was wrong or someone tried to guess it: ask the sender for a new code.\n" {
		t.Fatalf("output = %q", got)
	}
}

// TestPlainResumedIsNotCompression checks that bytes a resumed transfer did
// not send are not shown as a compression saving.
// TestPlainResumedIsNotSpeed: bytes the receiver already held count as
// done but never cross, so they must not make the speed or the time left
// look better than they are.
func TestPlainResumedIsNotSpeed(t *testing.T) {
	var out bytes.Buffer
	clock := newFakeClock()
	v := newPlain(Options{Out: &out, Role: Receiving}, clock.now)
	p := transfer.Progress{Total: 2_000_000_000, FileIndex: 1, Files: 1, File: "a", Elapsed: time.Second}
	v.Event(p) // before the receiver's claims were known
	p.Resumed, p.Done, p.Elapsed = 1_000_000_000, 1_001_000_000, 2*time.Second
	clock.add(3 * time.Second) // past the plain view's rate limit
	v.Event(p)
	got := out.String()
	// 1 MB crossed in the second between the events: 1.0 MB/s, and the
	// 999 MB left take 999 s.
	if !strings.Contains(got, "1.0 MB/s, 16m39s left") {
		t.Errorf("resumed bytes counted as speed:\n%s", got)
	}
	// The first line came before any speed was known: no placeholder.
	if first := strings.SplitN(got, "\n", 2)[0]; first != "progress:   0% 0 B of 2.0 GB: a" {
		t.Errorf("first progress line = %q", first)
	}
}

// A resumed transfer reports progress before its first file starts (the
// resumed bytes): "accepted; resuming" has said that, so no line yet.
func TestPlainNoLineBeforeTheFirstFile(t *testing.T) {
	var out bytes.Buffer
	clock := newFakeClock()
	v := newPlain(Options{Out: &out, Role: Receiving}, clock.now)
	v.Event(transfer.Accepted{ResumeBytes: 783_000_000})
	v.Event(transfer.Progress{Total: 2_000_000_000, Done: 783_000_000, Resumed: 783_000_000, Files: 1})
	clock.add(100 * time.Millisecond)
	v.Event(transfer.Progress{Total: 2_000_000_000, Done: 783_000_000, Resumed: 783_000_000, FileIndex: 1, Files: 1, File: "big.bin", Elapsed: 100 * time.Millisecond})
	want := "accepted; resuming (783 MB already there)\nprogress:  39% 783 MB of 2.0 GB: big.bin\n"
	if got := out.String(); got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
}

func TestPlainResumedIsNotCompression(t *testing.T) {
	var out bytes.Buffer
	v := newPlain(Options{Out: &out, Role: Receiving}, newFakeClock().now)
	v.Event(transfer.Done{Files: 1, Bytes: 1000, WireBytes: 401, Resumed: 600, Elapsed: time.Second})
	v.Close(nil)
	if strings.Contains(out.String(), "compression saved") {
		t.Errorf("resumed bytes shown as saved by compression:\n%s", out.String())
	}
	if !strings.Contains(out.String(), "600 B resumed") {
		t.Errorf("output lacks the resumed bytes:\n%s", out.String())
	}
	// 400 bytes crossed in a second; the 600 resumed ones did not.
	if !strings.Contains(out.String(), "(1.0 kB) in 1.0s, 400 B/s average") {
		t.Errorf("average counts resumed bytes:\n%s", out.String())
	}

	// All of it was already there: no average at all.
	out.Reset()
	v = newPlain(Options{Out: &out, Role: Receiving}, newFakeClock().now)
	v.Event(transfer.Done{Files: 1, Bytes: 1000, Resumed: 1000, Elapsed: time.Millisecond})
	v.Close(nil)
	if strings.Contains(out.String(), "average") || !strings.Contains(out.String(), "1.0 kB resumed") {
		t.Errorf("fully resumed transfer:\n%s", out.String())
	}
}

// TestPlainTextSender: a text message has no name and a speed means nothing
// for it, so the sender prints neither a nameless "sent:" line nor an average.
func TestPlainTextSender(t *testing.T) {
	var out bytes.Buffer
	v := newPlain(Options{Out: &out, Role: Sending}, newFakeClock().now)
	v.Event(transfer.OfferSent{IsText: true, Files: 1, TotalBytes: 11, Entries: []transfer.OfferEntry{{Size: 11}}})
	v.Event(transfer.FileDone{Size: 11})
	v.Event(transfer.Done{Files: 1, Bytes: 11, WireBytes: 11, Elapsed: time.Millisecond})
	v.Close(nil)
	got := out.String()
	if strings.Contains(got, "sent: ") || strings.Contains(got, "average") {
		t.Errorf("nameless entry line or a speed for a text:\n%s", got)
	}
	if !strings.Contains(got, "done: sent a text message (11 B)\n") {
		t.Errorf("no done line:\n%s", got)
	}
}

// TestPlainOfferHidden: plain mode lists every entry of issue 18's attack
// (item 2), the hidden ones flagged, and sums them up before the prompt.
func TestPlainOfferHidden(t *testing.T) {
	var out bytes.Buffer
	v := newPlain(Options{Role: Receiving, Out: &out, In: strings.NewReader("n\n")}, time.Now)
	if ok, err := v.Accept(context.Background(), hiddenWritesOffer()); ok || err != nil {
		t.Fatalf("Accept = %v, %v", ok, err)
	}
	got := out.String()
	for _, want := range []string{
		"  photo-1.jpg (2.4 MB)\n",
		"  photo-9.jpg (2.4 MB)\n",
		"  .ssh/  ! hidden name, folder already here\n",
		"  .ssh/authorized_keys (26 B)  ! hidden name, into a folder already here\n",
		"  .bash_profile (15 B)  ! hidden name\n",
		"  warning: 3 entries have hidden names (starting with a dot): .ssh/, .ssh/authorized_keys, .bash_profile\n",
		"  warning: 1 folder is already here and will get new files: .ssh/\nAccept 11 files (22 MB)? [y/N] ",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("the offer lacks %q:\n%s", want, got)
		}
	}
}

// TestPlainTextAndStreamOffers checks that a text or a stream is described
// as such, with no nameless entry line and no "1 file" summary, and that a
// stream's name is shown.
func TestPlainTextAndStreamOffers(t *testing.T) {
	for _, tc := range []struct {
		offer transfer.OfferReceived
		bytes int64
		want  []string
	}{
		{transfer.OfferReceived{IsText: true, Files: 1, TotalBytes: 28, Entries: []transfer.OfferEntry{{Size: 28}}}, 28,
			[]string{"offer: a text message (28 B)\n", "done: received a text message (28 B)\n"}},
		{transfer.OfferReceived{IsStream: true, Files: 1, Entries: []transfer.OfferEntry{{Path: "stdin"}}}, 1000,
			[]string{"offer: a stream of unknown size\n  stdin (a stream)\n", "done: received a stream (1.0 kB)"}},
	} {
		var out bytes.Buffer
		v := newPlain(Options{Out: &out, Role: Receiving}, newFakeClock().now)
		v.Event(tc.offer)
		v.Event(transfer.Done{Files: 1, Bytes: tc.bytes, WireBytes: tc.bytes, Elapsed: time.Second})
		v.Close(nil)
		got := out.String()
		for _, w := range tc.want {
			if !strings.Contains(got, w) {
				t.Errorf("output lacks %q:\n%s", w, got)
			}
		}
		if (tc.offer.IsText && strings.Contains(got, "  ")) || strings.Contains(got, "1 file") {
			t.Errorf("output shows an entry line or counts a file:\n%s", got)
		}
	}
}

// TestPlainChooseClash: plain mode marks the files that exist and reads one
// answer; anything unclear cancels (issue 16, item 9).
func TestPlainChooseClash(t *testing.T) {
	o := sampleOffer(2)
	o.Entries[1].Clash = true
	for in, want := range map[string]transfer.ClashChoice{
		"o\n": transfer.ClashOverwrite, "Keep both\n": transfer.ClashKeepBoth, "s\n": transfer.ClashSkip,
		"\n": transfer.ClashCancel, "y\n": transfer.ClashCancel, "c\n": transfer.ClashCancel,
	} {
		var out bytes.Buffer
		v := newPlain(Options{Role: Receiving, Out: &out, In: strings.NewReader(in)}, time.Now)
		got, err := v.ChooseClash(context.Background(), o)
		if err != nil || got != want {
			t.Errorf("answer %q: %v, %v; want %v", in, got, err, want)
		}
		for _, w := range []string{
			"  holiday/photo-01.jpg (1.2 MB)  ! a file of this name is here\n",
			"  warning: 1 file of this name is already here: holiday/photo-01.jpg\n",
			"Some files are already here: [o]verwrite, [k]eep both, [s]kip those, or [c]ancel? [c] ",
		} {
			if !strings.Contains(out.String(), w) {
				t.Errorf("the offer lacks %q:\n%s", w, out.String())
			}
		}
	}
	v := newPlain(Options{Out: io.Discard}, time.Now)
	if got, err := v.ChooseClash(context.Background(), o); got != transfer.ClashCancel || !errors.Is(err, ErrNoAnswer) {
		t.Errorf("no keyboard: %v, %v; want cancel, ErrNoAnswer", got, err)
	}
}

// TestPlainOverwriteSaysWhatIsReplaced: with --overwrite the offer names
// the files it replaces.
func TestPlainOverwriteSaysWhatIsReplaced(t *testing.T) {
	o := sampleOffer(2)
	o.Entries[2].Replaces = true
	var out bytes.Buffer
	newPlain(Options{Role: Receiving, Out: &out}, time.Now).Event(o)
	for _, w := range []string{
		"  holiday/photo-02.jpg (2.5 MB)  ! replaces the file here\n",
		"  warning: 1 file already here will be replaced (--overwrite): holiday/photo-02.jpg\n",
	} {
		if !strings.Contains(out.String(), w) {
			t.Errorf("the offer lacks %q:\n%s", w, out.String())
		}
	}
}
