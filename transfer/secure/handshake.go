package secure

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/bob-p2p/bob/internal/wake"
	"github.com/bob-p2p/bob/pake"
	"github.com/flynn/noise"
)

// Role says which side of a transfer this is: the PAKE's roles. The sender
// chooses the session id and speaks first.
type Role = pake.Role

const (
	Sender   = pake.Sender
	Receiver = pake.Receiver
)

// ErrWrongCode means the Noise handshake keyed with the PAKE key failed: the
// two sides did not use the same code. (A man in the middle altering the
// handshake looks the same; a relay cannot tell which.)
var ErrWrongCode = errors.New("wrong code: the other side used a different code")

// ErrHandshakeTimeout means the handshake did not finish within
// Config.HandshakeTimeout: the other side stopped answering, or answers so
// slowly (a byte every few minutes) that it would hold this side forever.
var ErrHandshakeTimeout = errors.New("the handshake took too long: the other side stopped answering")

// DefaultHandshakeTimeout bounds a handshake when Config.HandshakeTimeout
// is zero. A real handshake is two round trips and a few milliseconds of
// work; 30 s leaves room for slow links and relays.
const DefaultHandshakeTimeout = 30 * time.Second

// Config is one side's view of a handshake.
type Config struct {
	// Code is the code as typed, e.g. "7-guitarist-revenge". The PAKE gets
	// its normalised form (pake.Normalize); the code itself never keys Noise.
	Code string
	// Nameplate is the relay nameplate, e.g. "7".
	Nameplate string
	Role      Role
	// Features are this side's capability offers beyond the cipher (e.g.
	// "zstd"): short names of a-z 0-9 - _ and '.', at most 16. Both sides'
	// offers are bound into the handshake, so they cannot be downgraded.
	Features []string
	// Rand is the source of the session id and Noise ephemeral keys; nil
	// means crypto/rand.
	Rand io.Reader
	// ForceCipher is "" to choose automatically (AES-GCM when both sides have
	// hardware AES, else ChaCha20-Poly1305), or CipherAESGCM or
	// CipherChaChaPoly to ask for one; Handshake fails if the peer's offer
	// leads elsewhere.
	ForceCipher string
	// HandshakeTimeout bounds the whole handshake, however the peer paces
	// its bytes; 0 means DefaultHandshakeTimeout. It ends the handshake
	// with ErrHandshakeTimeout.
	HandshakeTimeout time.Duration
}

func (cfg *Config) handshakeTimeout() time.Duration {
	if cfg.HandshakeTimeout <= 0 {
		return DefaultHandshakeTimeout
	}
	return cfg.HandshakeTimeout
}

// readBufferSize is large (16 full frames) so that one read system call
// brings in as much as the socket holds, and the partial frame that bufio
// moves to the front of its buffer before each read is rare next to the
// data read: with two frames' worth it was a copy of a third of the stream.
const readBufferSize = 1 << 20

// Handshake runs the PAKE and the Noise handshake over rw and returns the
// secure channel. It stops when ctx ends: rw's deadline is set in the past if
// it has SetDeadline (net.Conn), else rw is closed if it is an io.Closer. On
// error, the caller still owns rw and should close it. A wrong code returns
// an error matching ErrWrongCode on both sides; one that does not finish
// within cfg.HandshakeTimeout, ErrHandshakeTimeout. ctx bounds only the
// handshake: once it returns, use deadlines on rw (or Close) to bound I/O.
// Bytes the peer sent after the handshake are kept for the Conn.
func Handshake(ctx context.Context, rw io.ReadWriter, cfg Config) (*Conn, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Reader
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("secure: handshake: %w", err)
	}
	timeout := cfg.handshakeTimeout()
	ctx, cancel := context.WithTimeoutCause(ctx, timeout, fmt.Errorf("%w (%v)", ErrHandshakeTimeout, timeout))
	defer cancel()
	stop := interruptOnDone(ctx, rw)
	h := &handshake{cfg: cfg, rw: rw, br: bufio.NewReaderSize(withRawReads(rw), readBufferSize)}
	var err error
	if cfg.Role == Sender {
		err = h.runSender()
	} else {
		err = h.runReceiver()
	}
	interrupted := stop()
	if interrupted || (err != nil && ctx.Err() != nil) {
		return nil, fmt.Errorf("secure: handshake: %w", context.Cause(ctx))
	}
	if err != nil {
		if errors.Is(err, ErrWrongCode) {
			return nil, err
		}
		return nil, fmt.Errorf("secure: handshake: %w", err)
	}
	c, err := newConn(rw, h.br, h.cipher, h.sendKey, h.recvKey, h.peer.features)
	if err != nil {
		return nil, err
	}
	c.path = h.path
	return c, nil
}

func (cfg *Config) check() error {
	if cfg.Role != Sender && cfg.Role != Receiver {
		return fmt.Errorf("secure: invalid role %d", cfg.Role)
	}
	if pake.Normalize(cfg.Code) == "" {
		return errors.New("secure: empty code")
	}
	if err := checkFeatures(cfg.Features); err != nil {
		return fmt.Errorf("secure: %w", err)
	}
	switch cfg.ForceCipher {
	case "", CipherAESGCM, CipherChaChaPoly:
	default:
		return fmt.Errorf("secure: unknown cipher %q", cfg.ForceCipher)
	}
	return nil
}

// interruptOnDone makes blocked reads and writes on rw return once ctx is
// done. The returned stop reports whether that happened; after it returns,
// no goroutine of ours touches rw.
func interruptOnDone(ctx context.Context, rw io.ReadWriter) (stop func() bool) {
	if d, ok := rw.(interface{ SetDeadline(time.Time) error }); ok {
		return wake.OnDone(ctx, d.SetDeadline)
	}
	if c, ok := rw.(io.Closer); ok {
		return wake.OnDone(ctx, func(time.Time) error { return c.Close() })
	}
	return func() bool { return false }
}

// handshake is the state of one Handshake call.
type handshake struct {
	cfg Config
	rw  io.ReadWriter
	br  *bufio.Reader

	own, peer        offer
	cipher           string
	sendKey, recvKey [32]byte
	path             pathSecret // keys direct connections of this session
}

func (h *handshake) ownOffer() offer {
	aes := hasHardwareAES()
	switch h.cfg.ForceCipher {
	case CipherAESGCM:
		aes = true
	case CipherChaChaPoly:
		aes = false
	}
	return offer{hardwareAES: aes, features: slices.Clone(h.cfg.Features)}
}

// chooseCipher picks AES-GCM only when both sides offer hardware AES.
func (h *handshake) chooseCipher() error {
	h.cipher = CipherChaChaPoly
	if h.own.hardwareAES && h.peer.hardwareAES {
		h.cipher = CipherAESGCM
	}
	if h.cfg.ForceCipher != "" && h.cfg.ForceCipher != h.cipher {
		return fmt.Errorf("cipher %s was forced but the other side's offer leads to %s", h.cfg.ForceCipher, h.cipher)
	}
	return nil
}

func (h *handshake) noise(initiator bool, key [32]byte, senderHello, receiverHello []byte) (*noise.HandshakeState, error) {
	c := noise.CipherChaChaPoly
	if h.cipher == CipherAESGCM {
		c = noise.CipherAESGCM
	}
	return noise.NewHandshakeState(noise.Config{
		CipherSuite:           noise.NewCipherSuite(noise.DH25519, c, noise.HashBLAKE2s),
		Random:                h.cfg.Rand,
		Pattern:               noise.HandshakeNN,
		Initiator:             initiator,
		Prologue:              prologue(senderHello, receiverHello),
		PresharedKey:          key[:],
		PresharedKeyPlacement: 0,
	})
}

func (h *handshake) readFrame() ([]byte, error) {
	b, err := readHandshakeFrame(h.br, maxHandshakeFrame)
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return nil, fmt.Errorf("the other side closed the connection: %w", io.ErrUnexpectedEOF)
	}
	return b, err
}

func (h *handshake) write(b []byte) error {
	_, err := h.rw.Write(b)
	return err
}

// runSender: send hello; read the receiver's hello and Noise message 1;
// answer with Noise message 2 (or the wrong-key notice).
func (h *handshake) runSender() error {
	var hello senderHello
	if _, err := io.ReadFull(h.cfg.Rand, hello.sessionID[:]); err != nil {
		return fmt.Errorf("drawing a session id: %w", err)
	}
	ex, msg, err := pake.Start(h.cfg.Code, pake.Sender, pake.Binding{Nameplate: h.cfg.Nameplate, SessionID: hello.sessionID})
	if err != nil {
		return err
	}
	h.own = h.ownOffer()
	hello.offer, hello.pake = h.own, msg
	ourHello := hello.marshal()
	if err := h.write(appendFrame(nil, ourHello)); err != nil {
		return err
	}

	peerHello, err := h.readFrame()
	if err != nil {
		return err
	}
	rh, err := parseReceiverHello(peerHello)
	if err != nil {
		return err
	}
	h.peer = rh.offer
	key, err := ex.Finish(rh.pake)
	if err != nil {
		return err
	}
	h.path = newPathSecret(key, hello.sessionID, Sender)
	if err := h.chooseCipher(); err != nil {
		return err
	}
	hs, err := h.noise(false, key, ourHello, peerHello)
	if err != nil {
		return err
	}

	m1, err := h.readFrame()
	if err != nil {
		return err
	}
	if m1[0] != kindNoise1 || len(m1) != 1+noiseMessageLen {
		return errors.New("malformed Noise message from the other side")
	}
	if _, _, _, err := hs.ReadMessage(nil, m1[1:]); err != nil {
		// Best effort: the receiver learns why we hang up.
		_ = h.write(appendFrame(nil, wrongKeyBody))
		return ErrWrongCode
	}
	m2, recv, send, err := hs.WriteMessage([]byte{kindNoise2}, nil)
	if err != nil {
		return err
	}
	if send == nil || recv == nil {
		return errors.New("noise handshake did not complete")
	}
	if err := h.write(appendFrame(nil, m2)); err != nil {
		return err
	}
	h.sendKey, h.recvKey = send.UnsafeKey(), recv.UnsafeKey()
	return nil
}

// runReceiver: read the sender's hello; answer with our hello and Noise
// message 1 in one write; read Noise message 2 (or the wrong-key notice).
func (h *handshake) runReceiver() error {
	peerHello, err := h.readFrame()
	if err != nil {
		return err
	}
	sh, err := parseSenderHello(peerHello)
	if err != nil {
		return err
	}
	h.peer = sh.offer
	ex, _, err := pake.Start(h.cfg.Code, pake.Receiver, pake.Binding{Nameplate: h.cfg.Nameplate, SessionID: sh.sessionID})
	if err != nil {
		return err
	}
	key, err := ex.Finish(sh.pake)
	if err != nil {
		return err
	}
	h.path = newPathSecret(key, sh.sessionID, Receiver)
	h.own = h.ownOffer()
	if err := h.chooseCipher(); err != nil {
		return err
	}
	ourHello := receiverHello{offer: h.own, pake: ex.Message()}.marshal()
	hs, err := h.noise(true, key, peerHello, ourHello)
	if err != nil {
		return err
	}
	m1, _, _, err := hs.WriteMessage([]byte{kindNoise1}, nil)
	if err != nil {
		return err
	}
	if err := h.write(appendFrame(appendFrame(nil, ourHello), m1)); err != nil {
		return err
	}

	m2, err := h.readFrame()
	if err != nil {
		return err
	}
	if bytes.Equal(m2, wrongKeyBody) {
		return ErrWrongCode
	}
	if m2[0] != kindNoise2 || len(m2) != 1+noiseMessageLen {
		return errors.New("malformed Noise message from the other side")
	}
	_, send, recv, err := hs.ReadMessage(nil, m2[1:])
	if err != nil {
		// The sender accepted our message 1, so the keys match: this is
		// tampering, not a wrong code.
		return errors.New("the other side's handshake failed authentication: the connection was tampered with")
	}
	if send == nil || recv == nil {
		return errors.New("noise handshake did not complete")
	}
	h.sendKey, h.recvKey = send.UnsafeKey(), recv.UnsafeKey()
	return nil
}
