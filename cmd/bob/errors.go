package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/bob-p2p/bob/session"
	"github.com/bob-p2p/bob/transfer"
	"github.com/bob-p2p/bob/transfer/secure"
)

func errorf(format string, args ...any) error { return fmt.Errorf(format, args...) }

// shownError is an error the view has already shown; it only carries the
// exit code back to main.
type shownError struct{ err error }

func (e shownError) Error() string { return e.err.Error() }
func (e shownError) Unwrap() error { return e.err }

// quiet marks err as shown by the view (every mode shows its own errors).
func quiet(err error, _ outputMode) error {
	if err == nil {
		return nil
	}
	return shownError{err}
}

// describe turns any error into the one sentence a person reads.
func describe(err error) string {
	var ru *session.RelayUnreachableError
	var nf *session.NotFoundError
	var partial *transfer.PartialError
	switch {
	case errors.As(err, &partial):
		return describe(partial.Err) + "; " + partial.Hint()
	case errors.Is(err, context.Canceled):
		return "cancelled"
	case errors.As(err, &ru):
		return fmt.Sprintf("could not reach the relay at %s: %s; check the address the sender's screen shows (bob recv --relay HOST:PORT)", joinAddrs(ru.Addrs), ru.Cause())
	case errors.As(err, &nf):
		return nf.Error() + ": if the sender's screen shows a relay address, run bob recv --relay HOST:PORT with it"
	case errors.Is(err, session.ErrSeveralSenders):
		return "two or more senders on this network use that code's number, and bob will not spend your code on the wrong one by chance: run bob recv --relay HOST:PORT with the address the sender's screen shows"
	}
	return err.Error()
}

func joinAddrs(a []string) string {
	s := ""
	for i, v := range a {
		if i > 0 {
			s += ", "
		}
		s += v
	}
	return s
}

// exitCode maps an error to bob's documented exit codes.
func exitCode(err error) int {
	var ue usageError
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &ue):
		return exitUsage
	case errors.Is(err, secure.ErrWrongCode):
		return exitWrongCode
	case errors.Is(err, transfer.ErrDeclined):
		return exitDeclined
	case errors.Is(err, transfer.ErrCancelledByPeer):
		return exitPeerCancelled
	case errors.Is(err, context.Canceled):
		return exitCancelled
	}
	return exitFailure
}

// reportError prints err as one sentence unless a view showed it already,
// and returns the exit code for it.
func reportError(w io.Writer, err error) int {
	var shown shownError
	if !errors.As(err, &shown) {
		fmt.Fprintln(w, "bob:", describe(err))
	}
	return exitCode(err)
}
