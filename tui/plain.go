package tui

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/bob-p2p/bob/internal/safeterm"
	"github.com/bob-p2p/bob/transfer"
)

// plainProgressEvery is how often plain mode prints a progress line (a new
// file also gets one); logs stay readable and pipes are not flooded.
const plainProgressEvery = 2 * time.Second

// plainView prints one plain line per thing that happened. It never writes
// an escape sequence: peer strings are escaped, and nothing is styled.
type plainView struct {
	opts Options
	now  func() time.Time

	mu         sync.Mutex
	out        io.Writer
	offerShown bool
	text       bool // the offer is a text message
	stream     bool // the offer is a stream of unknown size
	lastPrint  time.Time
	lastFile   int
	meter      speedMeter
	watch      stallWatch
	last       transfer.Progress
	stallSaid  bool // the current stall was reported
	finished   bool // Done came: waiting now is not a stall
	closed     bool

	stop    chan struct{} // closed by Close: ends watchStalls
	watcher sync.WaitGroup
}

// NewPlain returns a view for pipes, CI logs and --plain.
func NewPlain(opts Options) View {
	v := newPlain(opts, time.Now)
	v.watcher.Add(1)
	go v.watchStalls(time.Second)
	return v
}

func newPlain(opts Options, now func() time.Time) *plainView {
	out := opts.Out
	if out == nil {
		out = os.Stderr
	}
	return &plainView{opts: opts, out: out, now: now, stop: make(chan struct{})}
}

// watchStalls checks every interval, until Close, whether data stopped
// moving: with no events nothing else would print.
func (v *plainView) watchStalls(interval time.Duration) {
	defer v.watcher.Done()
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			v.checkStall()
		case <-v.stop:
			return
		}
	}
}

// checkStall prints one line when no data has moved for stallAfter.
func (v *plainView) checkStall() {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.closed || v.finished || v.stallSaid {
		return
	}
	if v.last.Total > 0 && v.last.Done >= v.last.Total {
		return // all there: what follows is not waiting for data
	}
	if d, stalled := v.watch.stalled(v.now()); stalled {
		v.stallSaid = true
		v.printf("%s\n", stalledNote(d))
	}
}

func (v *plainView) printf(format string, args ...any) {
	fmt.Fprintf(v.out, format, args...)
}

func (v *plainView) Event(e transfer.Event) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.closed {
		return
	}
	switch e := e.(type) {
	case transfer.CodeReady:
		cmd := safeterm.Escape(v.opts.receiveCommand(e.Code))
		v.printf("code: %s\n", safeterm.Escape(e.Code))
		v.printf("on %s run: %s (then type the code)\n", runWhere(e), cmd)
		if other := elsewhereCommand(e); other != "" {
			v.printf("from another network: %s\n", other)
		}
		if v.opts.QR {
			if qr, ok := qrCode(cmd); ok {
				v.printf("%s\n", qr)
			}
		}
		v.printf("waiting for the receiver...\n")
	case transfer.Connecting:
		if e.Relay != "" {
			v.printf("connecting to relay %s...\n", safeterm.Escape(e.Relay))
		} else {
			v.printf("looking for the sender on this network...\n")
		}
	case transfer.Paired:
		v.printf("paired; checking the code...\n")
	case transfer.PathChosen:
		v.printf("%s\n", pathText(e))
	case transfer.Secured:
		if e.Cipher != "" {
			v.printf("code checked; end-to-end encrypted (%s)\n", safeterm.Escape(e.Cipher))
		} else {
			v.printf("code checked; end-to-end encrypted\n")
		}
	case transfer.OfferSent:
		v.text, v.stream = e.IsText, e.IsStream
		v.printf("offering %s; waiting for the receiver to accept...\n", offerWhat(transfer.OfferReceived(e)))
	case transfer.OfferReceived:
		v.showOffer(e)
	case transfer.Accepted:
		if e.ResumeBytes > 0 {
			v.printf("accepted; resuming (%s already there)\n", size(e.ResumeBytes))
		} else {
			v.printf("accepted\n")
		}
	case transfer.Progress:
		v.progress(e)
	case transfer.FileDone:
		if v.text || e.Path == "" {
			break // a text message has no name: the done line says it arrived
		}
		verb := "sent"
		if v.opts.Role == Receiving {
			verb = "received"
		}
		v.printf("%s: %s (%s)\n", verb, safeterm.Escape(e.Path), size(e.Size))
	case transfer.TextReceived:
		v.printf("text: %s\n", safeterm.Escape(e.Text))
	case transfer.Skipped:
		v.printf("skipped: %s\n", skippedLine(e))
	case transfer.Changed:
		v.printf("warning: %s\n", changedLine(e))
	case transfer.ResumeChecked:
		v.printf("%s\n", resumeLine(e))
	case transfer.Done:
		v.finished = true
		v.done(e)
	}
}

// showOffer prints what is offered, once per view.
func (v *plainView) showOffer(o transfer.OfferReceived) {
	if v.offerShown {
		return
	}
	v.offerShown = true
	v.text, v.stream = o.IsText, o.IsStream
	v.printf("offer: %s\n", offerWhat(o))
	if o.Text != "" { // a short text comes in the offer: read it before accepting
		for _, l := range strings.Split(escapeLines(o.Text), "\n") {
			v.printf("  | %s\n", l)
		}
	}
	if !o.IsText { // a text's one entry has no name
		// Every entry, however many: a sender could otherwise put what
		// it does not want seen after the first lines (issue 18, item 2).
		// A log or a pipe can be searched; a --list flag would be a step
		// a person skips.
		for _, e := range o.Entries {
			v.printf("  %s\n", offerEntryLine(e, o.IsStream, unstyled))
		}
	}
	for _, w := range offerWarnings(o) {
		v.printf("  warning: %s\n", w)
	}
	if o.LeftOut > 0 {
		v.printf("  %s\n", leftOutNote(o.LeftOut))
	}
	if o.Resumable > 0 {
		v.printf("  %s\n", resumableNote(o.Resumable))
	}
}

// unstyled is a style's Render for plain lines: the text as it is.
func unstyled(s ...string) string { return strings.Join(s, " ") }

func (v *plainView) progress(p transfer.Progress) {
	speed := v.meter.observe(p.Done-p.Resumed, p.Elapsed)
	now := v.now()
	moved := !v.watch.seen || p.Done > v.last.Done
	v.watch.observe(p.Done, now)
	v.last = p
	// After a stall was reported, the first data says at once that it moves.
	resumed := v.stallSaid && moved
	if moved {
		v.stallSaid = false
	}
	if p.FileIndex == 0 {
		return // before the first file: "accepted; resuming (…)" said it all
	}
	newFile := p.FileIndex != v.lastFile
	if !newFile && !resumed && !v.lastPrint.IsZero() && now.Sub(v.lastPrint) < plainProgressEvery {
		return
	}
	v.lastPrint, v.lastFile = now, p.FileIndex
	var b strings.Builder
	b.WriteString("progress: ")
	if p.Total >= 0 {
		fmt.Fprintf(&b, "%3.0f%% %s of %s", fraction(p.Done, p.Total)*100, size(p.Done), size(p.Total))
	} else {
		b.WriteString(size(p.Done))
	}
	if speed > 0 { // unknown at a file's first event: say nothing rather than "- B/s"
		fmt.Fprintf(&b, ", %s", plainRate(speed))
	}
	if left, ok := eta(p.Total-p.Done, speed); ok && p.Total >= 0 {
		fmt.Fprintf(&b, ", %s left", formatDuration(left))
	}
	if p.File != "" {
		if p.Files > 1 {
			fmt.Fprintf(&b, ", file %d/%d", p.FileIndex, p.Files)
		}
		fmt.Fprintf(&b, ": %s", safeterm.Escape(p.File))
	}
	v.printf("%s\n", b.String())
}

func (v *plainView) done(d transfer.Done) {
	verb := "sent"
	if v.opts.Role == Receiving {
		verb = "received"
	}
	what := plural(d.Files, "file", "files")
	switch {
	case v.text:
		what = "a text message"
	case v.stream:
		what = "a stream"
	}
	v.printf("done: %s %s (%s)", verb, what, size(d.Bytes))
	if !v.text { // a speed means nothing for a few bytes of text
		v.printf(" in %s", formatElapsed(d.Elapsed))
		if moved := d.Bytes - d.Resumed; moved > 0 { // resumed bytes did not cross
			v.printf(", %s average", plainRate(averageRate(moved, d.Elapsed)))
		}
	}
	if via := viaText(d.Via, d.Relay); via != "" {
		v.printf(", %s", via)
	}
	if saving, ok := compressionSaving(d.Bytes-d.Resumed, d.WireBytes); ok {
		v.printf(", compression saved %.0f%%", saving*100)
	}
	if d.Resumed > 0 {
		v.printf(", %s resumed", size(d.Resumed))
	}
	v.printf("\n")
	if v.opts.Role == Receiving && d.OutDir != "" {
		v.printf("saved in: %s\n", safeterm.Escape(d.OutDir))
	}
}

// Accept prints the offer and asks on one line, reading the answer from In.
// Only "y" or "yes" accepts.
func (v *plainView) Accept(ctx context.Context, offer transfer.OfferReceived) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	v.mu.Lock()
	v.showOffer(offer)
	what := offerWhat(offer)
	if !offer.IsText && !offer.IsStream {
		what = fmt.Sprintf("%s (%s)", plural(offer.Files, "file", "files"), size(offer.TotalBytes))
	}
	v.printf("Accept %s? [y/N] ", what)
	v.mu.Unlock()
	if v.opts.In == nil {
		v.newline()
		return false, ErrNoAnswer
	}
	answer, err := readLine(ctx, v.opts.In)
	if err != nil {
		v.newline() // end the prompt line
		return false, err
	}
	switch strings.ToLower(strings.TrimSpace(answer)) {
	case "y", "yes":
		return true, nil
	}
	return false, nil
}

// ChooseClash prints the offer, its files that exist marked, and asks what
// to do with them on one line. Only a clear answer does anything but
// cancel.
func (v *plainView) ChooseClash(ctx context.Context, offer transfer.OfferReceived) (transfer.ClashChoice, error) {
	if err := ctx.Err(); err != nil {
		return transfer.ClashCancel, err
	}
	v.mu.Lock()
	v.showOffer(offer)
	v.printf("Some files are already here: [o]verwrite, [k]eep both, [s]kip those, or [c]ancel? [c] ")
	v.mu.Unlock()
	if v.opts.In == nil {
		v.newline()
		return transfer.ClashCancel, ErrNoAnswer
	}
	answer, err := readLine(ctx, v.opts.In)
	if err != nil {
		v.newline()
		return transfer.ClashCancel, err
	}
	switch strings.ToLower(strings.TrimSpace(answer)) {
	case "o", "overwrite":
		return transfer.ClashOverwrite, nil
	case "k", "keep", "keep both":
		return transfer.ClashKeepBoth, nil
	case "s", "skip", "skip those":
		return transfer.ClashSkip, nil
	}
	return transfer.ClashCancel, nil
}

// readLine reads one line from in, a byte at a time so that nothing after
// the line is consumed. If ctx ends first it returns ctx.Err(); the reading
// goroutine then ends when in yields a line or is closed.
func readLine(ctx context.Context, in io.Reader) (string, error) {
	type result struct {
		line string
		err  error
	}
	ch := make(chan result, 1)
	go func() {
		var b []byte
		buf := make([]byte, 1)
		for len(b) < 1024 {
			n, err := in.Read(buf)
			if n == 1 {
				if buf[0] == '\n' {
					break
				}
				b = append(b, buf[0])
				continue
			}
			if err != nil {
				if err == io.EOF && len(b) > 0 {
					break
				}
				if err == io.EOF {
					err = ErrNoAnswer
				}
				ch <- result{err: err}
				return
			}
		}
		ch <- result{line: string(b)}
	}()
	select {
	case r := <-ch:
		return r.line, r.err
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

func (v *plainView) newline() {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.printf("\n")
}

func (v *plainView) Close(err error) {
	defer v.watcher.Wait() // runs after mu is released: watchStalls may wait for it
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.closed {
		return
	}
	v.closed = true
	close(v.stop)
	if err != nil {
		w := v.out
		if v.opts.ErrOut != nil {
			w = v.opts.ErrOut
		}
		fmt.Fprintf(w, "error: %s\n", v.opts.describe(err))
	}
}

var _ View = (*plainView)(nil)
