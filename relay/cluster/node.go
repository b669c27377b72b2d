package cluster

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"

	"github.com/bob-p2p/bob/relay/rendezvous"
)

// The node-to-node handshake. The node holding a sender (the owner) speaks
// first with a fresh random challenge; the forwarding node answers with the
// nameplate its receiver asked for and an HMAC over both, keyed with the
// cluster secret:
//
//	owner → forwarder: challenge (32 bytes)
//	forwarder → owner: "BOBN" | version (1) | nameplate length (1) | nameplate | HMAC-SHA256 (32)
//
// A fresh challenge per connection means a recorded handshake cannot be
// replayed. After it the connection carries the receiver's rendezvous
// replies and then its end-to-end encrypted bytes, as a client connection
// does.
const (
	challengeLen = 32
	macLen       = sha256.Size
	nodeVersion  = 1
	// MinSecretLen is the shortest cluster secret accepted.
	MinSecretLen = 16
)

var nodeMagic = [4]byte{'B', 'O', 'B', 'N'}

// errBadNodeHello reports a node hello that is malformed or not signed with
// the cluster secret.
var errBadNodeHello = errors.New("not a relay node of this cluster")

func newChallenge() ([challengeLen]byte, error) {
	var c [challengeLen]byte
	_, err := rand.Read(c[:])
	return c, err
}

func nodeMAC(secret []byte, challenge [challengeLen]byte, nameplate string) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("bob relay cluster v1\x00"))
	m.Write(challenge[:])
	m.Write([]byte(nameplate))
	return m.Sum(nil)
}

// appendNodeHello appends the forwarder's answer to challenge.
func appendNodeHello(b []byte, secret []byte, challenge [challengeLen]byte, nameplate string) []byte {
	b = append(b, nodeMagic[:]...)
	b = append(b, nodeVersion, byte(len(nameplate)))
	b = append(b, nameplate...)
	return append(b, nodeMAC(secret, challenge, nameplate)...)
}

// readNodeHello reads the forwarder's answer, reading no byte beyond it,
// and returns the nameplate once the HMAC proves the secret.
func readNodeHello(r io.Reader, secret []byte, challenge [challengeLen]byte) (string, error) {
	var hdr [6]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return "", err
	}
	if [4]byte(hdr[:4]) != nodeMagic || hdr[4] != nodeVersion {
		return "", fmt.Errorf("%w: bad node hello header", errBadNodeHello)
	}
	n := int(hdr[5])
	if n > rendezvous.MaxNameplateLen {
		return "", fmt.Errorf("%w: %d-byte nameplate", errBadNodeHello, n)
	}
	var rest [rendezvous.MaxNameplateLen + macLen]byte
	body := rest[:n+macLen]
	if _, err := io.ReadFull(r, body); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return "", err
	}
	nameplate := string(body[:n])
	if err := rendezvous.CheckNameplate(nameplate); err != nil {
		return "", fmt.Errorf("%w: %v", errBadNodeHello, err)
	}
	if !hmac.Equal(body[n:], nodeMAC(secret, challenge, nameplate)) {
		return "", fmt.Errorf("%w: wrong cluster secret", errBadNodeHello)
	}
	return nameplate, nil
}
