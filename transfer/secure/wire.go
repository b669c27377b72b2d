package secure

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"
)

// Handshake frame kinds: the first byte of every frame body before the
// channel is keyed.
const (
	kindSenderHello   = 1
	kindReceiverHello = 2
	kindNoise1        = 3 // receiver (Noise initiator) -> sender
	kindNoise2        = 4 // sender (Noise responder) -> receiver
	kindWrongKey      = 5 // plain, unauthenticated: "your key does not match"
)

// magic opens both hellos: "bob" and the channel protocol version.
var magic = [4]byte{'b', 'o', 'b', protocolVersion}

const protocolVersion = 1

// wrongKeyBody is the whole body of the wrong-key notice.
var wrongKeyBody = []byte{kindWrongKey, 'w', 'r', 'o', 'n', 'g', ' ', 'k', 'e', 'y'}

// Limits on what a peer may send during the handshake.
const (
	maxHandshakeFrame = 2048
	maxFeatures       = 16
	maxFeatureLen     = 32
	noiseMessageLen   = 32 + 16 // an ephemeral key and an empty payload's tag
)

// Offer flags.
const flagHardwareAES = 1 << 0

// offer is one side's capability offer.
type offer struct {
	hardwareAES bool
	features    []string
}

// checkFeature accepts short names of lower-case letters, digits, '-', '_'
// and '.': they are protocol tokens, and the peer's end up in logs.
func checkFeature(f string) error {
	if f == "" || len(f) > maxFeatureLen {
		return fmt.Errorf("feature name \"%s\" must be 1 to %d bytes", f, maxFeatureLen)
	}
	for i := 0; i < len(f); i++ {
		c := f[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.') {
			return fmt.Errorf("feature name \"%s\" may only use a-z, 0-9, '-', '_' and '.'", f)
		}
	}
	return nil
}

func checkFeatures(fs []string) error {
	if len(fs) > maxFeatures {
		return fmt.Errorf("more than %d features", maxFeatures)
	}
	for i, f := range fs {
		if err := checkFeature(f); err != nil {
			return err
		}
		if slices.Contains(fs[:i], f) {
			return fmt.Errorf("feature \"%s\" listed twice", f)
		}
	}
	return nil
}

func (o offer) appendTo(b []byte) []byte {
	var flags byte
	if o.hardwareAES {
		flags |= flagHardwareAES
	}
	b = append(b, flags, byte(len(o.features)))
	for _, f := range o.features {
		b = append(b, byte(len(f)))
		b = append(b, f...)
	}
	return b
}

var errMalformedHello = errors.New("malformed hello")

// parseOffer reads an offer from the front of b and returns the rest.
func parseOffer(b []byte) (offer, []byte, error) {
	var o offer
	if len(b) < 2 {
		return o, nil, errMalformedHello
	}
	flags, n := b[0], int(b[1])
	b = b[2:]
	if flags&^flagHardwareAES != 0 {
		return o, nil, fmt.Errorf("%w: unknown flags %#x", errMalformedHello, flags)
	}
	if n > maxFeatures {
		return o, nil, fmt.Errorf("%w: too many features", errMalformedHello)
	}
	o.hardwareAES = flags&flagHardwareAES != 0
	for range n {
		if len(b) < 1 || len(b) < 1+int(b[0]) {
			return o, nil, errMalformedHello
		}
		l := int(b[0])
		o.features = append(o.features, string(b[1:1+l]))
		b = b[1+l:]
	}
	if err := checkFeatures(o.features); err != nil {
		return o, nil, fmt.Errorf("%w: %v", errMalformedHello, err)
	}
	return o, b, nil
}

// senderHello is the first frame: magic, kind, session id, offer, then the
// sender's PAKE message to the end of the frame.
type senderHello struct {
	sessionID [16]byte
	offer     offer
	pake      []byte
}

func (h senderHello) marshal() []byte {
	b := append(make([]byte, 0, 64+len(h.pake)), magic[:]...)
	b = append(b, kindSenderHello)
	b = append(b, h.sessionID[:]...)
	b = h.offer.appendTo(b)
	return append(b, h.pake...)
}

// receiverHello answers: magic, kind, offer, then the receiver's PAKE
// message to the end of the frame.
type receiverHello struct {
	offer offer
	pake  []byte
}

func (h receiverHello) marshal() []byte {
	b := append(make([]byte, 0, 64+len(h.pake)), magic[:]...)
	b = append(b, kindReceiverHello)
	b = h.offer.appendTo(b)
	return append(b, h.pake...)
}

// checkMagic reads the magic and kind at the front of a hello.
func checkMagic(b []byte, kind byte) ([]byte, error) {
	if len(b) < len(magic)+1 || !bytes.Equal(b[:3], magic[:3]) {
		return nil, fmt.Errorf("%w: the peer is not speaking bob's secure channel", errMalformedHello)
	}
	if b[3] != protocolVersion {
		return nil, fmt.Errorf("the other side speaks secure channel version %d and this bob speaks %d: both sides need the same bob version", b[3], protocolVersion)
	}
	if b[4] != kind {
		return nil, fmt.Errorf("%w: unexpected message kind %d", errMalformedHello, b[4])
	}
	return b[5:], nil
}

func parseSenderHello(b []byte) (senderHello, error) {
	var h senderHello
	b, err := checkMagic(b, kindSenderHello)
	if err != nil {
		return h, err
	}
	if len(b) < len(h.sessionID) {
		return h, errMalformedHello
	}
	copy(h.sessionID[:], b)
	h.offer, b, err = parseOffer(b[len(h.sessionID):])
	if err != nil {
		return h, err
	}
	if len(b) == 0 {
		return h, fmt.Errorf("%w: no key exchange message", errMalformedHello)
	}
	h.pake = b
	return h, nil
}

func parseReceiverHello(b []byte) (receiverHello, error) {
	var h receiverHello
	b, err := checkMagic(b, kindReceiverHello)
	if err != nil {
		return h, err
	}
	h.offer, b, err = parseOffer(b)
	if err != nil {
		return h, err
	}
	if len(b) == 0 {
		return h, fmt.Errorf("%w: no key exchange message", errMalformedHello)
	}
	h.pake = b
	return h, nil
}

// prologue binds the whole of both hellos (versions, session id, offers,
// PAKE messages) into the Noise handshake: any change to either fails it.
func prologue(senderHello, receiverHello []byte) []byte {
	b := []byte("bob/secure/1")
	b = binary.BigEndian.AppendUint16(b, uint16(len(senderHello)))
	b = append(b, senderHello...)
	b = binary.BigEndian.AppendUint16(b, uint16(len(receiverHello)))
	return append(b, receiverHello...)
}

// appendFrame appends body with its 2-byte length prefix.
func appendFrame(dst, body []byte) []byte {
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(body)))
	return append(dst, body...)
}

// readHandshakeFrame reads one length-prefixed frame of at most max bytes.
func readHandshakeFrame(r io.Reader, max int) ([]byte, error) {
	var hdr [2]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, err
	}
	n := int(binary.BigEndian.Uint16(hdr[:]))
	if n == 0 || n > max {
		return nil, fmt.Errorf("handshake message of %d bytes (at most %d allowed)", n, max)
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	return b, nil
}
