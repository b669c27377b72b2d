package transfer

import (
	"errors"
	"fmt"

	"github.com/bob-p2p/bob/internal/units"
)

// Errors a transfer ends with. Test with errors.Is; the returned errors wrap
// these with details. Names and peer text in them are raw: whoever shows an
// error escapes it (internal/safeterm), once.
var (
	// ErrDeclined: the receiver declined the offer.
	ErrDeclined = errors.New("the transfer was declined")
	// ErrCancelledByPeer: the other side cancelled.
	ErrCancelledByPeer = errors.New("cancelled by the other side")
	// ErrExists: files exist in the output folder and overwriting was not allowed.
	ErrExists = errors.New("files already exist")
	// ErrNoSpace: the output folder's disk cannot hold the offer.
	ErrNoSpace = errors.New("not enough free space")
	// ErrUnsafeOffer: the sender's offer broke a safety rule; nothing was written.
	ErrUnsafeOffer = errors.New("the offer was rejected")
	// ErrVerify: received data did not match the sender's hash or size.
	ErrVerify = errors.New("received data did not verify")
	// ErrProtocol: the peer sent something the protocol does not allow.
	ErrProtocol = errors.New("the peer broke the protocol")
	// ErrPeerFailed: the peer stopped because of an error on its side.
	ErrPeerFailed = errors.New("the other side stopped with an error")
	// ErrReplaced: a file offered was replaced (by a link or another file)
	// before it was read; none of what is there now was sent.
	ErrReplaced = errors.New("a file was replaced after it was offered")
)

// PartialError is what Receive returns when it ended early but part files
// (NAME.bob-part) in the output folder hold data that a new transfer of the
// same files into the same folder resumes from.
type PartialError struct {
	Err  error
	Kept int64  // bytes in the part files
	Dir  string // the output folder
}

func (e *PartialError) Error() string { return e.Err.Error() + "; " + e.Hint() }
func (e *PartialError) Unwrap() error { return e.Err }

// Hint tells the person what was kept and how to resume.
func (e *PartialError) Hint() string {
	return fmt.Sprintf("%s received so far stay in %s as .bob-part files: receive the same files into that folder again to resume",
		units.Size(e.Kept), e.Dir)
}

// peerStop is a stop record received from the peer.
type peerStop struct {
	by   string // "sender" or "receiver"
	code byte
	msg  string // raw, from the peer
}

func (e *peerStop) Error() string {
	msg := e.msg
	switch e.code {
	case stopCancel:
		return "cancelled by the " + e.by
	case stopDecline:
		return "the " + e.by + " declined the transfer"
	case stopExists, stopNoSpace, stopRejected:
		return "the " + e.by + " refused: " + msg
	}
	return "the " + e.by + " stopped: " + msg
}

func (e *peerStop) Is(target error) bool {
	switch e.code {
	case stopCancel:
		return target == ErrCancelledByPeer
	case stopDecline:
		return target == ErrDeclined
	case stopExists:
		return target == ErrExists
	case stopNoSpace:
		return target == ErrNoSpace
	case stopRejected:
		return target == ErrUnsafeOffer
	}
	return target == ErrPeerFailed
}

// stopCode maps a local error to the reason told to the peer.
func stopCode(err error) byte {
	switch {
	case errors.Is(err, ErrDeclined):
		return stopDecline
	case errors.Is(err, ErrExists):
		return stopExists
	case errors.Is(err, ErrNoSpace):
		return stopNoSpace
	case errors.Is(err, ErrUnsafeOffer):
		return stopRejected
	}
	return stopFailed
}

// stopMessage is what the peer is told about err, which stops this side
// with code. A full disk is told only as such: the local message names
// the receiver's folder and its free space, which are not the sender's
// business (issue 16 item 18).
func stopMessage(code byte, err error) string {
	if code == stopNoSpace {
		return ErrNoSpace.Error()
	}
	return err.Error()
}

func protocolError(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrProtocol, fmt.Sprintf(format, args...))
}

func verifyError(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrVerify, fmt.Sprintf(format, args...))
}
