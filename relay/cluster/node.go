package cluster

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/netip"

	"github.com/bob-p2p/bob/relay/rendezvous"
)

// The node-to-node handshake. The node holding a sender (the owner) speaks
// first with a fresh random challenge; the forwarding node answers with the
// nameplate its receiver asked for, the address it saw the receiver come
// from, and an HMAC over all three, keyed with the cluster secret:
//
//	owner → forwarder: challenge (32 bytes)
//	forwarder → owner: "BOBN" | version (1) | nameplate length (1) | nameplate |
//	                   receiver IP (16, IPv4 mapped) | receiver port (2) | HMAC-SHA256 (32)
//
// The owner tells the receiver that address when it pairs it (rendezvous
// version 2): it is what a receiver behind a NAT punches from, and the
// owner itself only sees the forwarding node.
//
// A fresh challenge per connection means a recorded handshake cannot be
// replayed. After it the connection carries the receiver's rendezvous
// replies and then its end-to-end encrypted bytes, as a client connection
// does.
const (
	challengeLen = 32
	addrLen      = 16 + 2
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

func nodeMAC(secret []byte, challenge [challengeLen]byte, nameplate string, addr []byte) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("bob relay cluster v1\x00"))
	m.Write(challenge[:])
	m.Write([]byte{byte(len(nameplate))})
	m.Write([]byte(nameplate))
	m.Write(addr)
	return m.Sum(nil)
}

// appendAddr appends a receiver's address; an invalid one is all zeros.
func appendAddr(b []byte, ap netip.AddrPort) []byte {
	ip := ap.Addr().As16()
	if !ap.Addr().IsValid() {
		ip = [16]byte{}
	}
	b = append(b, ip[:]...)
	return binary.BigEndian.AppendUint16(b, ap.Port())
}

// parseAddr reads what appendAddr wrote; all zeros is no address.
func parseAddr(b []byte) netip.AddrPort {
	ip := netip.AddrFrom16([16]byte(b[:16])).Unmap()
	port := binary.BigEndian.Uint16(b[16:])
	if ip.IsUnspecified() || port == 0 {
		return netip.AddrPort{}
	}
	return netip.AddrPortFrom(ip, port)
}

// appendNodeHello appends the forwarder's answer to challenge.
func appendNodeHello(b []byte, secret []byte, challenge [challengeLen]byte, nameplate string, receiver netip.AddrPort) []byte {
	b = append(b, nodeMagic[:]...)
	b = append(b, nodeVersion, byte(len(nameplate)))
	b = append(b, nameplate...)
	addr := appendAddr(nil, receiver)
	b = append(b, addr...)
	return append(b, nodeMAC(secret, challenge, nameplate, addr)...)
}

// readNodeHello reads the forwarder's answer, reading no byte beyond it,
// and returns the nameplate and the receiver's address once the HMAC proves
// the secret.
func readNodeHello(r io.Reader, secret []byte, challenge [challengeLen]byte) (string, netip.AddrPort, error) {
	var none netip.AddrPort
	var hdr [6]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return "", none, err
	}
	if [4]byte(hdr[:4]) != nodeMagic || hdr[4] != nodeVersion {
		return "", none, fmt.Errorf("%w: bad node hello header", errBadNodeHello)
	}
	n := int(hdr[5])
	if n > rendezvous.MaxNameplateLen {
		return "", none, fmt.Errorf("%w: %d-byte nameplate", errBadNodeHello, n)
	}
	var rest [rendezvous.MaxNameplateLen + addrLen + macLen]byte
	body := rest[:n+addrLen+macLen]
	if _, err := io.ReadFull(r, body); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return "", none, err
	}
	nameplate, addr, mac := string(body[:n]), body[n:n+addrLen], body[n+addrLen:]
	if err := rendezvous.CheckNameplate(nameplate); err != nil {
		return "", none, fmt.Errorf("%w: %v", errBadNodeHello, err)
	}
	if !hmac.Equal(mac, nodeMAC(secret, challenge, nameplate, addr)) {
		return "", none, fmt.Errorf("%w: wrong cluster secret", errBadNodeHello)
	}
	receiver := parseAddr(addr)
	if !bytes.Equal(addr, appendAddr(nil, receiver)) {
		return "", none, fmt.Errorf("%w: malformed receiver address", errBadNodeHello)
	}
	return nameplate, receiver, nil
}
