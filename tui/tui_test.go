package tui

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/bob-p2p/bob/transfer"
	"go.uber.org/goleak"
)

// startTUI runs the real view over a pipe for the keyboard and a buffer for
// the screen. Close the returned pipe writer after Close, so the program's
// input reader, blocked on the pipe, ends too.
func startTUI(t *testing.T, opts Options) (*tuiView, *syncBuffer, *io.PipeWriter) {
	t.Helper()
	pr, pw := io.Pipe()
	out := &syncBuffer{}
	opts.In, opts.Out = pr, out
	if opts.Width == 0 {
		opts.Width, opts.Height = 80, 24
	}
	return newTUI(opts, true), out, pw
}

func TestTUIViewReceive(t *testing.T) {
	defer goleak.VerifyNone(t, teatestSignalWatcher)
	v, out, keys := startTUI(t, testOptions(Receiving))
	defer keys.Close()

	v.Event(transfer.Connecting{Relay: "192.168.1.20:9009"})
	v.Event(transfer.Paired{})
	v.Event(transfer.Secured{Cipher: "Noise"})
	o := sampleOffer(3)
	o.Entries[1].Path = hostile
	answer := make(chan bool, 1)
	go func() {
		ok, err := v.Accept(context.Background(), o)
		if err != nil {
			t.Errorf("Accept: %v", err)
		}
		answer <- ok
	}()
	waitFor(t, out, "Decline")
	if _, err := keys.Write([]byte("y")); err != nil {
		t.Fatal(err)
	}
	if !<-answer {
		t.Fatal("y did not accept")
	}
	v.Event(transfer.Accepted{})
	v.Event(transfer.Progress{Done: 100, Total: 200, File: hostile, FileIndex: 1, Files: 3, Elapsed: time.Second})
	v.Event(transfer.FileDone{Path: hostile, Size: 100})
	v.Event(transfer.Done{Files: 3, Bytes: 200, WireBytes: 200, Elapsed: 2 * time.Second, OutDir: "/tmp/in", Via: "relay 192.168.1.20:9009"})
	v.Close(nil)
	v.Close(nil)                        // a second Close does nothing
	v.Event(transfer.Progress{Done: 1}) // nor does an event after Close

	got := out.String()
	if !strings.Contains(got, "Received 3 files") || !strings.Contains(got, "saved in /tmp/in") {
		t.Fatalf("no summary drawn:\n%s", got)
	}
	if strings.Contains(got, "\x1b]0;pwned") || strings.ContainsRune(got, 0x07) || strings.Contains(got, "\nname.txt") {
		t.Fatalf("a hostile name reached the terminal raw:\n%q", got)
	}
	if !strings.Contains(got, `evil\x1b]0;pwned\a\nname.txt`) {
		t.Fatalf("the escaped name was never drawn:\n%q", got)
	}
}

func TestTUIViewDecline(t *testing.T) {
	defer goleak.VerifyNone(t, teatestSignalWatcher)
	v, out, keys := startTUI(t, testOptions(Receiving))
	defer keys.Close()
	answer := make(chan bool, 1)
	go func() {
		ok, _ := v.Accept(context.Background(), sampleOffer(2))
		answer <- ok
	}()
	waitFor(t, out, "Decline")
	keys.Write([]byte("n"))
	if <-answer {
		t.Fatal("n accepted")
	}
	v.Close(errors.New("declined"))
}

func TestTUIViewCtrlC(t *testing.T) {
	defer goleak.VerifyNone(t, teatestSignalWatcher)
	cancelled := make(chan struct{}, 1)
	opts := testOptions(Sending)
	opts.Describe = nil
	opts.Cancel = func() { cancelled <- struct{}{} }
	v, out, keys := startTUI(t, opts)
	defer keys.Close()
	v.Event(senderCode())
	waitFor(t, out, "waiting for the receiver")
	keys.Write([]byte{0x03}) // ctrl+c
	<-cancelled
	waitFor(t, out, "cancelling…")
	v.Close(context.Canceled)
	if !strings.Contains(out.String(), "Cancelled.") {
		t.Fatalf("the end does not say it was cancelled:\n%s", out.String())
	}
}

func TestTUIViewForcedQuit(t *testing.T) {
	defer goleak.VerifyNone(t, teatestSignalWatcher)
	opts := testOptions(Sending)
	opts.Cancel = func() {}
	v, out, keys := startTUI(t, opts)
	defer keys.Close()
	keys.Write([]byte{0x03})
	waitFor(t, out, "cancelling…")
	keys.Write([]byte{0x03})
	<-v.done // the program ends without waiting for the transfer
	if ok, err := v.Accept(context.Background(), sampleOffer(1)); ok || err == nil {
		t.Fatalf("Accept on a stopped view = %v, %v; want an error", ok, err)
	}
	v.Close(errors.New("stopped"))
	if !strings.HasSuffix(out.String(), "error: The code was wrong or someone tried to guess it: ask the sender for a new code.\n") {
		t.Fatalf("Close after the program ended did not print the error:\n%q", out.String())
	}
}

func TestTUIViewAcceptContext(t *testing.T) {
	defer goleak.VerifyNone(t, teatestSignalWatcher)
	v, out, keys := startTUI(t, testOptions(Receiving))
	defer keys.Close()
	ctx, cancel := context.WithCancel(context.Background())
	res := make(chan error, 1)
	go func() {
		_, err := v.Accept(ctx, sampleOffer(2))
		res <- err
	}()
	waitFor(t, out, "Decline")
	cancel()
	if err := <-res; !errors.Is(err, context.Canceled) {
		t.Fatalf("Accept after its context ended = %v", err)
	}
	waitFor(t, out, "the offer was withdrawn")
	v.Close(nil)
}

func TestTUIViewNoKeyboard(t *testing.T) {
	defer goleak.VerifyNone(t, teatestSignalWatcher)
	out := &syncBuffer{}
	v := NewTUI(Options{Role: Sending, Out: out})
	v.Event(senderCode())
	waitFor(t, out, "7-guitarist-revenge")
	v.Close(nil)
	if !strings.Contains(out.String(), "Done.") {
		t.Fatalf("the end was never drawn:\n%s", out.String())
	}
}
