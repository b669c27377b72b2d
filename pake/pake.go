package pake

import (
	"bytes"
	"crypto/ecdh"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"strings"

	spake "github.com/schollz/pake/v3"
	"golang.org/x/text/unicode/norm"
)

// protocol names the protocol and its version; it is bound into the
// identities, the password derivation and the key derivation so that keys
// from any other use of the same code never match ours.
const protocol = "bob/pake/v1"

// curve is the only curve we use. The library's "ed25519" curve has fixed
// points with known discrete logs and must never be used.
const curve = "p256"

// maxMessageSize caps a peer message before it is parsed. Our own messages
// are about 200 bytes.
const maxMessageSize = 512

// Role says which side of the exchange this is. The sender speaks first.
type Role uint8

const (
	Sender Role = iota
	Receiver
)

func (r Role) String() string {
	switch r {
	case Sender:
		return "sender"
	case Receiver:
		return "receiver"
	}
	return fmt.Sprintf("Role(%d)", uint8(r))
}

// Binding is the context both sides must agree on for their keys to match.
type Binding struct {
	Nameplate string   // the relay nameplate of the code, e.g. "7"
	SessionID [16]byte // chosen at random by the sender for this session
}

// maxNameplate bounds the nameplate so identities stay small.
const maxNameplate = 255

// Errors returned by Finish.
var (
	// ErrMalformed: the peer message is not a well-formed, valid message of
	// the expected role.
	ErrMalformed = errors.New("pake: malformed message from peer")
	// ErrTooLarge: the peer message is over 512 bytes (maxMessageSize).
	ErrTooLarge = errors.New("pake: message from peer is too large")
	// ErrReplayed: the peer message is our own message sent back, or Finish
	// was called a second time.
	ErrReplayed = errors.New("pake: replayed message")
)

// Normalize returns the code in the form both sides use: surrounding space
// trimmed, lower case, Unicode NFC.
func Normalize(code string) string {
	return norm.NFC.String(strings.ToLower(strings.TrimSpace(code)))
}

// Exchange is one side of a key exchange in progress. It is single-use and
// not safe for concurrent use.
type Exchange struct {
	role     Role
	binding  Binding
	lib      *spake.Pake
	own      []byte // this side's message; the receiver's exists only after Finish
	finished bool
}

// Start begins an exchange with the code secret (normalised here, see
// Normalize). For the Sender it returns the first message, to be sent to the
// receiver. The Receiver speaks second: its Start returns a nil message, and
// its own message is available from Message once Finish has processed the
// sender's message.
func Start(secret string, role Role, b Binding) (*Exchange, []byte, error) {
	if role != Sender && role != Receiver {
		return nil, nil, fmt.Errorf("pake: invalid role %d", role)
	}
	secret = Normalize(secret)
	if secret == "" {
		return nil, nil, errors.New("pake: empty code")
	}
	if len(b.Nameplate) > maxNameplate {
		return nil, nil, fmt.Errorf("pake: nameplate longer than %d bytes", maxNameplate)
	}
	pw := password(secret)
	lib, err := spake.InitCurveWithIdentities(pw, int(role), curve,
		identity(Sender, b), identity(Receiver, b))
	if err != nil {
		return nil, nil, fmt.Errorf("pake: %w", err)
	}
	e := &Exchange{role: role, binding: b, lib: lib}
	if role == Sender {
		e.own, err = encode(wireMessage{Role: intPtr(0), Xu: lib.Xᵤ, Xv: lib.Xᵥ})
		if err != nil {
			return nil, nil, err
		}
	}
	return e, e.Message(), nil
}

// Message returns a copy of this side's message, or nil if it does not exist
// yet (the receiver's message exists only after Finish).
func (e *Exchange) Message() []byte {
	if e.own == nil {
		return nil
	}
	return bytes.Clone(e.own)
}

// Finish processes the peer's message and returns the session key: HKDF-SHA256
// over the SPAKE2 key, salted with a hash of the full transcript (protocol,
// nameplate, session id, both messages). Finish may be called once; a second
// call returns ErrReplayed. A wrong code is not detected here: it gives a
// different key on each side.
func (e *Exchange) Finish(peerMsg []byte) ([32]byte, error) {
	var key [32]byte
	if e == nil || e.lib == nil {
		return key, errors.New("pake: exchange not started")
	}
	if e.finished {
		return key, ErrReplayed
	}
	e.finished = true
	if len(peerMsg) > maxMessageSize {
		return key, ErrTooLarge
	}
	if e.own != nil && bytes.Equal(peerMsg, e.own) {
		return key, ErrReplayed
	}
	peer := Receiver
	if e.role == Receiver {
		peer = Sender
	}
	canonical, err := parse(peerMsg, peer)
	if err != nil {
		return key, err
	}
	if err := e.lib.Update(canonical); err != nil {
		return key, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if e.role == Receiver {
		e.own, err = encode(wireMessage{Role: intPtr(1), Yu: e.lib.Yᵤ, Yv: e.lib.Yᵥ})
		if err != nil {
			return key, err
		}
	}
	// Reflection of our own point under the other role would not match any
	// key, but refusing it outright gives a clearer error.
	if e.lib.Xᵤ.Cmp(e.lib.Yᵤ) == 0 && e.lib.Xᵥ.Cmp(e.lib.Yᵥ) == 0 {
		return key, ErrReplayed
	}
	k, err := e.lib.SessionKey()
	if err != nil {
		return key, fmt.Errorf("pake: %w", err)
	}
	senderMsg, receiverMsg := e.own, peerMsg
	if e.role == Receiver {
		senderMsg, receiverMsg = peerMsg, e.own
	}
	salt := transcriptHash(e.binding, senderMsg, receiverMsg)
	out, err := hkdf.Key(sha256.New, k, salt[:], protocol+" session key", len(key))
	if err != nil {
		return key, fmt.Errorf("pake: deriving the key: %w", err)
	}
	copy(key[:], out)
	return key, nil
}

// wireMessage is the subset of the library's JSON encoding that carries a
// public value: the role and X (sender) or Y (receiver).
type wireMessage struct {
	Role *int     `json:"Role"`
	Xu   *big.Int `json:"Xᵤ,omitempty"`
	Xv   *big.Int `json:"Xᵥ,omitempty"`
	Yu   *big.Int `json:"Yᵤ,omitempty"`
	Yv   *big.Int `json:"Yᵥ,omitempty"`
}

func intPtr(i int) *int { return &i }

func encode(m wireMessage) ([]byte, error) {
	b, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("pake: encoding message: %w", err)
	}
	return b, nil
}

// parse strictly decodes and validates a message from a peer with role from,
// and returns its canonical encoding for the library, which then only ever
// parses bytes we produced.
func parse(msg []byte, from Role) ([]byte, error) {
	var m wireMessage
	dec := json.NewDecoder(bytes.NewReader(msg))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("%w: trailing data", ErrMalformed)
	}
	if m.Role == nil {
		return nil, fmt.Errorf("%w: no role", ErrMalformed)
	}
	if *m.Role != int(from) {
		if *m.Role == 0 || *m.Role == 1 {
			return nil, fmt.Errorf("%w: message has our own role", ErrReplayed)
		}
		return nil, fmt.Errorf("%w: invalid role", ErrMalformed)
	}
	u, v := m.Xu, m.Xv
	other := m.Yu != nil || m.Yv != nil
	if from == Receiver {
		u, v = m.Yu, m.Yv
		other = m.Xu != nil || m.Xv != nil
	}
	if other {
		return nil, fmt.Errorf("%w: unexpected fields for a %s", ErrMalformed, from)
	}
	if err := checkPoint(u, v); err != nil {
		return nil, err
	}
	out := wireMessage{Role: m.Role}
	if from == Sender {
		out.Xu, out.Xv = u, v
	} else {
		out.Yu, out.Yv = u, v
	}
	return encode(out)
}

// checkPoint accepts only a valid P-256 point other than the identity.
func checkPoint(x, y *big.Int) error {
	if x == nil || y == nil {
		return fmt.Errorf("%w: missing point", ErrMalformed)
	}
	if x.Sign() < 0 || y.Sign() < 0 || x.BitLen() > 256 || y.BitLen() > 256 {
		return fmt.Errorf("%w: point out of range", ErrMalformed)
	}
	var enc [65]byte
	enc[0] = 4
	x.FillBytes(enc[1:33])
	y.FillBytes(enc[33:])
	if _, err := ecdh.P256().NewPublicKey(enc[:]); err != nil {
		return fmt.Errorf("%w: point not on P-256", ErrMalformed)
	}
	return nil
}

// password maps the normalised code to the SPAKE2 password: a fixed-length,
// domain-separated hash, so that the scalar never depends on the code's
// length or encoding quirks.
func password(secret string) []byte {
	h := sha256.New()
	writeField(h, []byte(protocol+" password"))
	writeField(h, []byte(secret))
	return h.Sum(nil)
}

// identity is the library identity of one role: protocol, role, nameplate and
// session id, each length-prefixed.
func identity(r Role, b Binding) []byte {
	var buf bytes.Buffer
	writeField(&buf, []byte(protocol))
	writeField(&buf, []byte(r.String()))
	writeField(&buf, []byte(b.Nameplate))
	writeField(&buf, b.SessionID[:])
	return buf.Bytes()
}

func transcriptHash(b Binding, senderMsg, receiverMsg []byte) [32]byte {
	h := sha256.New()
	writeField(h, []byte(protocol+" transcript"))
	writeField(h, []byte(b.Nameplate))
	writeField(h, b.SessionID[:])
	writeField(h, senderMsg)
	writeField(h, receiverMsg)
	var out [32]byte
	h.Sum(out[:0])
	return out
}

func writeField(w io.Writer, p []byte) {
	var n [4]byte
	binary.BigEndian.PutUint32(n[:], uint32(len(p)))
	w.Write(n[:])
	w.Write(p)
}
