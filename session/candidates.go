package session

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
)

// Session records: sent on the secure channel over the relay after the
// handshake and before the transfer's first record, or as the first record
// of a direct channel. Their types stay clear of package transfer's.
const (
	recCandidates byte = 0xC0 // both: where this side listens for a direct connection
	recPath       byte = 0xC1 // sender, over the relay: which path the transfer takes
	recSelected   byte = 0xC2 // sender, on a direct channel: this one carries the transfer
)

// Values of a recPath record's one byte.
const (
	pathRelay  byte = 0
	pathDirect byte = 1
)

// candidatesVersion is the first byte of a recCandidates payload.
const candidatesVersion = 1

// maxCandidates bounds what a peer may ask us to dial.
const maxCandidates = 16

// Flags of a recCandidates record.
const (
	// flagRelayLoopback: this side reaches the relay over loopback. When
	// both do, the peers share a machine, and the relay's path is as
	// short as any.
	flagRelayLoopback = 1 << 0
)

// Kinds of candidate address.
const (
	// kindLocal: an address of the side's own, with the port it listens
	// on: dial it from any port.
	kindLocal byte = 0
	// kindReflexive: where the relay saw the side's relay connection (its
	// NAT's mapping): open a connection to it from our own relay
	// connection's port at the same time as the side does towards ours
	// (TCP simultaneous open), which both NATs let through.
	kindReflexive byte = 1
)

// candidate is one address a side can be reached at.
type candidate struct {
	kind byte
	addr netip.AddrPort
}

// candidates is one side's recCandidates record.
type candidates struct {
	relayLoopback bool
	addrs         []candidate
}

// encodeCandidates: version(1) ‖ flags(1) ‖ count(1) ‖ count × (kind(1) ‖
// length(1) = 4 or 16 ‖ address ‖ port(2, big-endian)).
func encodeCandidates(c candidates) []byte {
	cands := c.addrs
	if len(cands) > maxCandidates {
		cands = cands[:maxCandidates]
	}
	var flags byte
	if c.relayLoopback {
		flags |= flagRelayLoopback
	}
	b := []byte{candidatesVersion, flags, byte(len(cands))}
	for _, c := range cands {
		raw := c.addr.Addr().Unmap().AsSlice()
		b = append(b, c.kind, byte(len(raw)))
		b = append(b, raw...)
		b = binary.BigEndian.AppendUint16(b, c.addr.Port())
	}
	return b
}

var errBadCandidates = errors.New("malformed list of direct addresses from the peer")

// decodeCandidates parses a peer's list strictly: a wrong length, version or
// count, or a trailing byte, is an error.
func decodeCandidates(b []byte) (candidates, error) {
	var c candidates
	if len(b) < 3 || b[0] != candidatesVersion || b[1]&^flagRelayLoopback != 0 {
		return c, errBadCandidates
	}
	c.relayLoopback = b[1]&flagRelayLoopback != 0
	n := int(b[2])
	if n > maxCandidates {
		return c, fmt.Errorf("%w: %d addresses (at most %d)", errBadCandidates, n, maxCandidates)
	}
	b = b[3:]
	out := make([]candidate, 0, n)
	for range n {
		if len(b) < 2 || b[0] > kindReflexive {
			return c, errBadCandidates
		}
		kind, l := b[0], int(b[1])
		b = b[1:]
		if (l != 4 && l != 16) || len(b) < 1+l+2 {
			return c, errBadCandidates
		}
		a, _ := netip.AddrFromSlice(b[1 : 1+l])
		port := binary.BigEndian.Uint16(b[1+l:])
		if port == 0 {
			return c, fmt.Errorf("%w: port 0", errBadCandidates)
		}
		out = append(out, candidate{kind, netip.AddrPortFrom(a.Unmap(), port)})
		b = b[1+l+2:]
	}
	if len(b) != 0 {
		return c, fmt.Errorf("%w: %d bytes after the list", errBadCandidates, len(b))
	}
	c.addrs = out
	return c, nil
}

// dialable keeps the candidates worth dialling: never unspecified,
// multicast or link-local addresses, and loopback ones only in tests
// (loopbackOK): a hostile peer must not aim us at our own local services.
func dialable(cands []candidate, loopbackOK bool) []candidate {
	var out []candidate
	for _, c := range cands {
		a := c.addr.Addr()
		switch {
		case a.IsUnspecified(), a.IsMulticast(), a.IsInterfaceLocalMulticast():
		case a.IsLoopback() && !loopbackOK:
		case a.IsLinkLocalUnicast():
		default:
			out = append(out, c)
		}
	}
	return out
}
