package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/bob-p2p/bob/relay/rendezvous"
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

// wrongCodeError explains a failed key confirmation from one side's view.
type wrongCodeError struct {
	role secure.Role
	err  error
}

func (e wrongCodeError) Error() string {
	if e.role == secure.Sender {
		return "the receiver used a wrong code, so this code is now void (someone may have tried to guess it): run bob send again for a new code"
	}
	return "wrong code: check it with the sender, who must run bob send again for a new code"
}
func (e wrongCodeError) Unwrap() error { return e.err }

func handshakeError(role secure.Role, err error) error {
	if errors.Is(err, secure.ErrWrongCode) {
		return wrongCodeError{role, err}
	}
	return fmt.Errorf("could not set up the encrypted channel: %w", err)
}

func relayError(addr string, err error) error {
	switch {
	case errors.Is(err, rendezvous.ErrUnknownNameplate):
		return fmt.Errorf("no sender is waiting with this code at relay %s: check the code and the relay", addr)
	case errors.Is(err, rendezvous.ErrAlreadyClaimed):
		return fmt.Errorf("someone already used this code: ask the sender for a new one")
	case errors.Is(err, rendezvous.ErrNameplateTaken):
		return fmt.Errorf("the number of that code is in use at the relay: choose another code")
	case errors.Is(err, rendezvous.ErrBadPassword):
		return fmt.Errorf("the relay %s refused the password: set the right one with --relay-password or BOB_RELAY_PASSWORD", addr)
	case errors.Is(err, rendezvous.ErrRelayFull), errors.Is(err, rendezvous.ErrRateLimited):
		return fmt.Errorf("the relay %s is busy (%w): try again in a minute", addr, err)
	case errors.Is(err, rendezvous.ErrVersion):
		return fmt.Errorf("the relay %s speaks another protocol version: update bob or the relay", addr)
	}
	return fmt.Errorf("lost the relay %s: %w", addr, err)
}

// describe turns any error into the one sentence a person reads.
func describe(err error) string {
	var ru *relayUnreachableError
	var partial *transfer.PartialError
	switch {
	case errors.As(err, &partial):
		return describe(partial.Err) + "; " + partial.Hint()
	case errors.Is(err, context.Canceled):
		return "cancelled"
	case errors.As(err, &ru):
		return fmt.Sprintf("could not reach the relay at %s: start one with bob relay, or point --relay or BOB_RELAY at one", joinAddrs(ru.addrs))
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
