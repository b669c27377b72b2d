package secure

import (
	"bufio"
	"context"
	"crypto/hkdf"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"

	"github.com/flynn/noise"
)

// Direct connections: once a channel is up over the relay, the peers may open
// other connections straight to each other (the session package decides
// where). Each proves itself with a Noise handshake of its own, keyed from
// this session's PAKE key, so a stranger who connects learns nothing and
// costs the session nothing: it never touches the code.

// Direct handshake frame kinds (first byte of each frame body).
const (
	kindDirect1 = 6 // dialer (Noise initiator) -> listener
	kindDirect2 = 7 // listener (Noise responder) -> dialer
)

// controlPathConfirm is the dialer's first record on a direct connection: it
// proves to the listener that the dialer derived the same transport keys
// (Noise NN's responder is otherwise unconfirmed after message 2).
const controlPathConfirm = 2

// ErrNotPeer means whoever was on a direct connection did not prove it
// belongs to this session: a stranger, a replay or a wrong peer.
var ErrNotPeer = errors.New("secure: the direct connection did not prove it belongs to this session")

// pathSecret is what keys a session's direct connections.
type pathSecret struct {
	psk       [32]byte // HKDF of the PAKE key with a label of its own
	sessionID [16]byte
	role      Role
	set       bool
}

func newPathSecret(key [32]byte, sessionID [16]byte, role Role) pathSecret {
	// hkdf.Key fails only for lengths above 255 hash sizes.
	psk, _ := hkdf.Key(sha256.New, key[:], sessionID[:], "bob/direct/1 psk", 32)
	p := pathSecret{sessionID: sessionID, role: role, set: true}
	copy(p.psk[:], psk)
	return p
}

// directPrologue binds the session id and which side dialled: a handshake
// message cannot be replayed into another session or reflected back at the
// side that made it.
func directPrologue(sessionID [16]byte, dialer Role) []byte {
	b := append([]byte("bob/direct/1"), sessionID[:]...)
	return append(b, byte(dialer))
}

// DirectHandshake turns rw, a connection straight to the peer of c, into a
// secure channel of its own with c's cipher. dialer is true on the side
// that opened rw. A Noise_NNpsk0 handshake runs over rw, its PSK derived
// from this session's PAKE key with a label of its own and its prologue
// binding the session id and the dialer's role; then the dialer sends a
// confirmation record. It fails with an error matching ErrNotPeer if the
// other end does not hold the key. ctx bounds the handshake as in
// Handshake; on error the caller still owns rw.
func (c *Conn) DirectHandshake(ctx context.Context, rw io.ReadWriter, dialer bool) (*Conn, error) {
	if !c.path.set {
		return nil, errors.New("secure: direct connections start from a channel made by Handshake")
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("secure: direct handshake: %w", err)
	}
	stop := interruptOnDone(ctx, rw)
	nc, err := c.directHandshake(rw, dialer)
	interrupted := stop()
	if err != nil && !interrupted && errors.Is(err, ErrNotPeer) {
		// A verdict on what the other end sent, reached before any
		// interruption: it stands even if ctx ended meanwhile, so a
		// stranger is reported as one.
		return nil, err
	}
	if interrupted || (err != nil && ctx.Err() != nil) {
		return nil, fmt.Errorf("secure: direct handshake: %w", context.Cause(ctx))
	}
	if err != nil {
		return nil, err
	}
	return nc, nil
}

func (c *Conn) directHandshake(rw io.ReadWriter, dialer bool) (*Conn, error) {
	dialerRole := c.path.role
	if !dialer {
		dialerRole = otherRole(c.path.role)
	}
	suite := noise.CipherChaChaPoly
	if c.cipher == CipherAESGCM {
		suite = noise.CipherAESGCM
	}
	hs, err := noise.NewHandshakeState(noise.Config{
		CipherSuite:           noise.NewCipherSuite(noise.DH25519, suite, noise.HashBLAKE2s),
		Pattern:               noise.HandshakeNN,
		Initiator:             dialer,
		Prologue:              directPrologue(c.path.sessionID, dialerRole),
		PresharedKey:          c.path.psk[:],
		PresharedKeyPlacement: 0,
	})
	if err != nil {
		return nil, err
	}
	br := bufio.NewReaderSize(withRawReads(rw), readBufferSize)
	// Split: cs1 keys dialer -> listener, cs2 listener -> dialer.
	var cs1, cs2 *noise.CipherState
	readMessage := func(kind byte) error {
		m, err := readHandshakeFrame(br, maxHandshakeFrame)
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return fmt.Errorf("%w: it closed the connection", ErrNotPeer)
		}
		if err != nil {
			return fmt.Errorf("%w: %w", ErrNotPeer, err)
		}
		if m[0] != kind || len(m) != 1+noiseMessageLen {
			return fmt.Errorf("%w: malformed handshake message", ErrNotPeer)
		}
		if _, cs1, cs2, err = hs.ReadMessage(nil, m[1:]); err != nil {
			return fmt.Errorf("%w: its handshake failed authentication", ErrNotPeer)
		}
		return nil
	}
	writeMessage := func(kind byte) error {
		var m []byte
		if m, cs1, cs2, err = hs.WriteMessage([]byte{kind}, nil); err != nil {
			return err
		}
		if _, err := rw.Write(appendFrame(nil, m)); err != nil {
			return fmt.Errorf("secure: direct handshake: %w", err)
		}
		return nil
	}

	if dialer {
		if err := writeMessage(kindDirect1); err != nil {
			return nil, err
		}
		if err := readMessage(kindDirect2); err != nil {
			return nil, err
		}
	} else {
		if err := readMessage(kindDirect1); err != nil {
			return nil, err
		}
		if err := writeMessage(kindDirect2); err != nil {
			return nil, err
		}
	}
	if cs1 == nil || cs2 == nil {
		return nil, errors.New("secure: direct handshake did not complete")
	}
	send, recv := cs1.UnsafeKey(), cs2.UnsafeKey()
	if !dialer {
		send, recv = recv, send
	}
	nc, err := newConn(rw, br, c.cipher, send, recv, c.peerFeatures)
	if err != nil {
		return nil, err
	}
	if dialer {
		nc.wmu.Lock()
		err = nc.sealRecord(controlRecord, []byte{controlPathConfirm})
		if err == nil {
			err = nc.flush()
		}
		nc.wmu.Unlock()
		return nc, err
	}
	nc.rmu.Lock()
	defer nc.rmu.Unlock()
	typ, p, err := nc.readFrame(nil)
	switch {
	case errors.Is(err, ErrCorrupt):
		return nil, fmt.Errorf("%w: its confirmation failed authentication", ErrNotPeer)
	case err != nil:
		return nil, fmt.Errorf("%w: %w", ErrNotPeer, err)
	case typ != controlRecord || len(p) != 1 || p[0] != controlPathConfirm:
		return nil, fmt.Errorf("%w: no confirmation", ErrNotPeer)
	}
	return nc, nil
}

func otherRole(r Role) Role {
	if r == Sender {
		return Receiver
	}
	return Sender
}
