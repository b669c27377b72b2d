package session

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"syscall"

	"github.com/bob-p2p/bob/relay/rendezvous"
	"github.com/bob-p2p/bob/transfer/secure"
)

// RelayUnreachableError: no relay address answered.
type RelayUnreachableError struct {
	Addrs []string
	Err   error
}

func (e *RelayUnreachableError) Error() string {
	return fmt.Sprintf("could not reach the relay at %s: %s", strings.Join(e.Addrs, ", "), e.Cause())
}
func (e *RelayUnreachableError) Unwrap() error { return e.Err }

// Cause says in a few words why the relay did not answer.
func (e *RelayUnreachableError) Cause() string {
	var dnsErr *net.DNSError
	switch {
	case errors.As(e.Err, &dnsErr):
		return "its name was not found (" + dnsErr.Name + ")"
	case errors.Is(e.Err, syscall.ECONNREFUSED):
		return "connection refused (nothing listens there)"
	case errors.Is(e.Err, syscall.EHOSTUNREACH), errors.Is(e.Err, syscall.ENETUNREACH):
		return "no route to it"
	case errors.Is(e.Err, context.DeadlineExceeded), errors.Is(e.Err, os.ErrDeadlineExceeded):
		return "timed out"
	case e.Err == nil:
		return "no address answered"
	}
	return e.Err.Error()
}

// WrongCodeError explains a failed key confirmation from one side's view.
type WrongCodeError struct {
	Role secure.Role
	Err  error
}

func (e WrongCodeError) Error() string {
	if e.Role == secure.Sender {
		return "the receiver used a wrong code, so this code is now void (someone may have tried to guess it): run bob send again for a new code"
	}
	return "wrong code: check it with the sender, who must run bob send again for a new code"
}
func (e WrongCodeError) Unwrap() error { return e.Err }

func handshakeError(role secure.Role, err error) error {
	if errors.Is(err, secure.ErrWrongCode) {
		return WrongCodeError{role, err}
	}
	if role == secure.Receiver {
		// The sender may have seen a guess: never retry with the same code.
		return fmt.Errorf("could not set up the encrypted channel, so this code may be void: ask the sender to run bob send again for a new code (%w)", err)
	}
	return fmt.Errorf("could not set up the encrypted channel: %w", err)
}

// ErrSeveralSenders: two senders on the local network wait under the same
// nameplate, and picking one by chance could spend the code on the wrong one.
var ErrSeveralSenders = errors.New("more than one sender on this network waits under that number")

// NotFoundError: no relay was configured, no sender with the nameplate
// answered on the local network and no relay runs on this machine.
type NotFoundError struct {
	Nameplate string
	Browsed   bool  // the local network was searched
	BrowseErr error // why it could not be, or nil
}

func (e *NotFoundError) Error() string {
	where := "on this network"
	if !e.Browsed {
		where = "here (looking on the local network is off)"
	}
	s := fmt.Sprintf("no sender with code number %s was found %s, and no relay runs on this machine", e.Nameplate, where)
	if e.BrowseErr != nil {
		s += fmt.Sprintf(" (the local network could not be searched: %v)", e.BrowseErr)
	}
	return s
}

// explained is an error told in the session's words; it still matches
// the error it explains with errors.Is.
type explained struct {
	msg string
	err error
}

func (e explained) Error() string { return e.msg }
func (e explained) Unwrap() error { return e.err }

func explain(err error, format string, args ...any) error {
	return explained{fmt.Sprintf(format, args...), err}
}

// PasswordError: the relay at Addr wants a password and none was given, or
// it refused the one given. It wraps rendezvous.ErrBadPassword.
type PasswordError struct {
	Addr  string
	Given bool // a password was given and refused
	err   error
}

func (e *PasswordError) Error() string {
	if e.Given {
		return fmt.Sprintf("the relay %s refused the password", e.Addr)
	}
	return fmt.Sprintf("the relay %s needs a password", e.Addr)
}

func (e *PasswordError) Unwrap() error { return e.err }

func relayError(addr, password string, err error) error {
	switch {
	case errors.Is(err, rendezvous.ErrMalformed):
		return explain(err, "%s is not a bob relay (it answered something else)", addr)
	case errors.Is(err, rendezvous.ErrBadPassword):
		return &PasswordError{Addr: addr, Given: password != "", err: err}
	case errors.Is(err, rendezvous.ErrUnknownNameplate):
		return explain(err, "no sender is waiting with this code at relay %s: check the code, and the relay the sender's screen shows", addr)
	case errors.Is(err, rendezvous.ErrAlreadyClaimed):
		return explain(err, "someone already used this code: ask the sender for a new one")
	case errors.Is(err, rendezvous.ErrNameplateTaken):
		return explain(err, "the number of that code is in use at the relay: choose another code")
	case errors.Is(err, rendezvous.ErrRelayFull), errors.Is(err, rendezvous.ErrRateLimited):
		return fmt.Errorf("the relay %s is busy (%w): try again in a minute", addr, err)
	case errors.Is(err, rendezvous.ErrVersion):
		return explain(err, "the relay %s speaks another protocol version: update bob or the relay", addr)
	}
	return fmt.Errorf("lost the relay %s: %w", addr, err)
}
