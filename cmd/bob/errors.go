package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"syscall"

	"github.com/bob-p2p/bob/internal/safeterm"
	"github.com/bob-p2p/bob/internal/units"
	"github.com/bob-p2p/bob/session"
	"github.com/bob-p2p/bob/transfer"
	"github.com/bob-p2p/bob/transfer/secure"
	"github.com/bob-p2p/bob/tui"
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
	var space *transfer.NoSpaceError
	switch {
	case errors.As(err, &partial):
		return fmt.Sprintf("%s; %s received so far stay in %s as .bob-part files: receive the same files into that folder again to resume",
			describe(partial.Err), units.Size(partial.Kept), partial.Dir)
	case errors.As(err, &space) && space.Stream != "":
		return fmt.Sprintf("%v: stopped receiving \"%s\" after %s, with %s free in %s: bob keeps %s free when it receives a stream",
			transfer.ErrNoSpace, space.Stream, units.Size(space.After), units.Size(space.Free), space.Dir, units.Size(space.Reserve))
	case errors.As(err, &space):
		return fmt.Sprintf("%v: the files need %s but only %s are free in %s", transfer.ErrNoSpace, units.Size(space.Need), units.Size(space.Free), space.Dir)
	case errors.Is(err, tui.ErrNeedYes):
		return "cannot ask whether to accept the offer in --json mode: run again with --yes to accept it"
	case errors.Is(err, context.Canceled):
		return "cancelled"
	case errors.Is(err, syscall.EPIPE), errors.Is(err, syscall.ECONNRESET), errors.Is(err, secure.ErrTruncated):
		return "the other side went away (connection lost)"
	case errors.As(err, &ru):
		return fmt.Sprintf("could not reach the relay at %s: %s; check the address the sender's screen shows (bob recv --relay HOST:PORT)", joinAddrs(ru.Addrs), ru.Cause())
	case errors.As(err, &nf):
		return nf.Error() + ": if the sender's screen shows a relay address, run bob recv --relay HOST:PORT with it"
	case errors.Is(err, session.ErrSeveralSenders):
		return "two or more senders on this network use that code's number, and bob will not spend your code on the wrong one by chance: run bob recv --relay HOST:PORT with the address the sender's screen shows"
	}
	return err.Error() + hint(err)
}

// hint is what a person can do about err with bob's flags, which the
// library errors do not know (issue 17 item 2, as age's errorWithHint).
func hint(err error) string {
	var exists *transfer.ExistsError
	var password *session.PasswordError
	switch {
	case errors.As(err, &exists):
		return " (--overwrite replaces them)"
	case errors.As(err, &password) && password.Given:
		return ": set the right one with --relay-password or BOB_RELAY_PASSWORD"
	case errors.As(err, &password):
		return ": set it with --relay-password or BOB_RELAY_PASSWORD"
	case errors.Is(err, tui.ErrNoAnswer):
		return ": run again with --yes to accept without asking"
	}
	return ""
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

// errorName is err's stable name for scripts: its exit code's.
func errorName(err error) string { return exitName(exitCode(err)) }

// exitName is an exit code's stable name, for scripts.
func exitName(code int) string {
	switch code {
	case exitOK:
		return "ok"
	case exitUsage:
		return "usage"
	case exitWrongCode:
		return "wrong_code"
	case exitDeclined:
		return "declined"
	case exitPeerCancelled:
		return "peer_cancelled"
	case exitCancelled:
		return "cancelled"
	}
	return "failure"
}

// reportError prints err as one sentence unless a view showed it already,
// and returns the exit code for it. In JSON mode (out is set) the sentence
// is an error event on out, as the views write it.
func reportError(w, jsonOut io.Writer, err error) int {
	code := exitCode(err)
	var shown shownError
	switch {
	case errors.As(err, &shown):
	case jsonOut != nil:
		// The JSON view writes the error event, as for a failure later on.
		tui.NewJSON(jsonOut, tui.Options{Describe: describe, ErrorCode: errorName}).Close(err)
	default:
		fmt.Fprintln(w, "bob:", safeterm.Escape(describe(err)))
	}
	return code
}

// wantsJSON says whether args ask for JSON output, before cobra parsed them.
func wantsJSON(args []string) bool {
	for _, a := range args {
		if a == "--" {
			return false
		}
		if a == "--json" || a == "--json=true" {
			return true
		}
	}
	return false
}
