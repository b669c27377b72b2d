package tui

import (
	"context"
	"errors"
	"io"

	"github.com/bob-p2p/bob/internal/safeterm"
	"github.com/bob-p2p/bob/transfer"
)

// View shows a transfer. Event is called from the transfer's goroutine;
// views are safe for that and for Accept and Close from other goroutines.
type View interface {
	// Event shows one thing that happened. It never blocks for long.
	Event(transfer.Event)
	// Accept shows the offer and asks the person whether to take it. When
	// ctx ends first it returns ctx.Err().
	Accept(ctx context.Context, offer transfer.OfferReceived) (bool, error)
	// ChooseClash shows an offer some of whose files are already here
	// (OfferEntry.Clash) and asks what to do with them. When ctx ends
	// first it returns ctx.Err().
	ChooseClash(ctx context.Context, offer transfer.OfferReceived) (transfer.ClashChoice, error)
	// Close shows the summary (err == nil) or the error, waits until it is
	// drawn and gives the terminal back. Events after Close are dropped.
	Close(err error)
}

// Role says which side of a transfer a view shows.
type Role int

const (
	Sending Role = iota
	Receiving
)

// Options configure a view.
type Options struct {
	Role Role
	// In is the keyboard: keys for the TUI, answers for plain prompts. Nil
	// means no keyboard (the TUI then cannot be cancelled with a key and
	// Accept cannot ask). It must not be the stream being sent (bob send -).
	In io.Reader
	// Out is where the view draws: stderr when stdout carries data.
	Out io.Writer
	// ErrOut is where plain mode writes the final error line (stderr, so
	// scripts can tell it from output); nil means Out.
	ErrOut io.Writer
	// Cancel is called when the person asks to stop (Ctrl-C in the TUI).
	// The CLI cancels the transfer, which then ends with Close(err).
	Cancel func()
	// QR shows a QR code of the receive command (sender).
	QR bool
	// ReceiveCommand returns the exact command to run on the other machine
	// for a code (sender).
	ReceiveCommand func(code string) string
	// Describe turns an error into one user-facing sentence.
	Describe func(error) string
	// ErrorCode names an error for scripts (JSON's error code); nil leaves
	// it out.
	ErrorCode func(error) string
	// Width and Height are an optional initial size (tests).
	Width, Height int
}

// ErrNeedYes is returned by Accept in JSON mode: a script cannot answer a
// prompt, so the caller must take offers without asking (bob's --yes, which
// the CLI names in its message for this error).
var ErrNeedYes = errors.New("cannot ask whether to accept the offer in JSON mode")

// ErrNoAnswer is returned by plain Accept when In ends before an answer.
var ErrNoAnswer = errors.New("no answer to the accept prompt (input ended)")

// ErrCancelled is returned by Accept and PromptCode when the person
// pressed Ctrl-C. It matches context.Canceled.
var ErrCancelled = cancelledError{}

type cancelledError struct{}

func (cancelledError) Error() string        { return "cancelled" }
func (cancelledError) Is(target error) bool { return target == context.Canceled }

// describe returns the one-sentence message for err, escaped for display.
func (o Options) describe(err error) string {
	var msg string
	switch {
	case o.Describe != nil:
		msg = o.Describe(err)
	case errors.Is(err, context.Canceled):
		msg = "Cancelled."
	default:
		msg = err.Error()
	}
	return safeterm.Escape(msg)
}

// receiveCommand is the command shown next to the code.
func (o Options) receiveCommand(code string) string {
	if o.ReceiveCommand != nil {
		return o.ReceiveCommand(code)
	}
	return "bob recv " + code
}

func (o Options) cancel() {
	if o.Cancel != nil {
		o.Cancel()
	}
}
