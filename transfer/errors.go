package transfer

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"unicode/utf8"
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

func (e *PartialError) Error() string {
	return fmt.Sprintf("%v; %d bytes received so far stay in %s as .bob-part files: receive the same files into that folder again to resume", e.Err, e.Kept, e.Dir)
}
func (e *PartialError) Unwrap() error { return e.Err }

// ExistsError: files of the offer are already in the output folder and
// neither overwriting nor a choice was allowed. It matches ErrExists.
type ExistsError struct {
	Names []string // the offered names that are there, raw
}

func (e *ExistsError) Error() string {
	var b strings.Builder
	const show = 10
	for i, n := range e.Names[:min(len(e.Names), show)] {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(n)
	}
	if len(e.Names) > show {
		fmt.Fprintf(&b, " and %d more", len(e.Names)-show)
	}
	what := "a file"
	if len(e.Names) > 1 {
		what = fmt.Sprintf("%d files", len(e.Names))
	}
	return fmt.Sprintf("%v: the output folder already has %s of the same name (%s); nothing was written", ErrExists, what, b.String())
}

func (e *ExistsError) Is(target error) bool { return target == ErrExists }

// NoSpaceError: the output folder's disk cannot hold the offer, or a
// stream was stopped to keep Reserve bytes free. It matches ErrNoSpace.
type NoSpaceError struct {
	Dir  string // the output folder
	Need int64  // bytes the files need (files)
	Free int64  // bytes free in Dir
	// For a stream: its name, the bytes received before it was stopped and
	// the bytes bob keeps free.
	Stream         string
	After, Reserve int64
}

func (e *NoSpaceError) Error() string {
	if e.Stream != "" {
		return fmt.Sprintf("%v: stopped receiving \"%s\" after %d bytes, with %d bytes free in %s (bob keeps %d bytes free when it receives a stream)",
			ErrNoSpace, e.Stream, e.After, e.Free, e.Dir, e.Reserve)
	}
	return fmt.Sprintf("%v: the files need %d bytes but only %d bytes are free in %s", ErrNoSpace, e.Need, e.Free, e.Dir)
}

func (e *NoSpaceError) Is(target error) bool { return target == ErrNoSpace }

// peerStop is a stop record received from the peer.
type peerStop struct {
	by   string // "sender" or "receiver"
	code byte
	msg  string // raw, from the peer
}

// maxShownStop bounds how much of a peer's stop text an error shows: bob
// sends only the short texts of stopText, and an older bob a sentence.
const maxShownStop = 200

func (e *peerStop) Error() string {
	switch e.code {
	case stopCancel:
		return "cancelled by the " + e.by
	case stopDecline:
		return "the " + e.by + " declined the transfer"
	case stopExists:
		return "the " + e.by + " refused: " + ErrExists.Error()
	case stopNoSpace:
		return "the " + e.by + " refused: " + ErrNoSpace.Error()
	case stopRejected:
		return "the " + e.by + " refused: " + ErrUnsafeOffer.Error()
	}
	msg := e.msg
	if len(msg) > maxShownStop {
		cut := maxShownStop
		for cut > 0 && !utf8.RuneStart(msg[cut]) {
			cut--
		}
		msg = msg[:cut] + "…"
	}
	if msg == "" {
		msg = reasonFailed
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

// The texts a stop record carries: fixed and short, never a local path,
// size or message (issue 17 item 2). The code says what happened; the text
// is for a bob that does not know the code.
const (
	reasonCancelled   = "cancelled"
	reasonFailed      = "an error on its side"
	reasonVerify      = "received data did not verify"
	reasonProtocol    = "the other side broke the protocol"
	reasonReplaced    = "a file was replaced after it was offered"
	reasonSenderOlder = "the sender's bob is older: upgrade bob on the sending machine"
	reasonSenderNewer = "the sender's bob is newer: upgrade bob on the receiving machine"
)

// stopReason is the code and text the peer is told about err, which stops
// this side.
func stopReason(err error) (byte, string) {
	var ve versionError
	switch {
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return stopCancel, reasonCancelled
	case errors.Is(err, ErrDeclined):
		return stopDecline, ErrDeclined.Error()
	case errors.Is(err, ErrExists):
		return stopExists, ErrExists.Error()
	case errors.Is(err, ErrNoSpace):
		return stopNoSpace, ErrNoSpace.Error()
	case errors.Is(err, ErrUnsafeOffer):
		return stopRejected, ErrUnsafeOffer.Error()
	case errors.As(err, &ve) && ve.sender < protocolVersion:
		return stopVersion, reasonSenderOlder
	case errors.As(err, &ve):
		return stopVersion, reasonSenderNewer
	case errors.Is(err, ErrVerify):
		return stopFailed, reasonVerify
	case errors.Is(err, ErrProtocol):
		return stopFailed, reasonProtocol
	case errors.Is(err, ErrReplaced):
		return stopFailed, reasonReplaced
	}
	return stopFailed, reasonFailed
}

func protocolError(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrProtocol, fmt.Sprintf(format, args...))
}

func verifyError(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrVerify, fmt.Sprintf(format, args...))
}

func unwrapPathError(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
