package appliance

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"time"
)

// The appliance's DHCP client is the minimum a VM on a cloud or qemu network
// needs: DISCOVER, OFFER, REQUEST, ACK for one IPv4 address, a netmask and a
// router. Replies come from the network and are parsed as untrusted input.

// DHCP message types (RFC 2132, option 53).
const (
	dhcpDiscover = 1
	dhcpOffer    = 2
	dhcpRequest  = 3
	dhcpAck      = 5
	dhcpNak      = 6
)

// DHCP options used here (RFC 2132).
const (
	optPad         = 0
	optSubnetMask  = 1
	optRouter      = 3
	optRequestedIP = 50
	optLeaseTime   = 51
	optMessageType = 53
	optServerID    = 54
	optParamList   = 55
	optEnd         = 255
)

const (
	bootRequest      = 1
	bootReply        = 2
	dhcpFixedLen     = 236 // BOOTP header up to and without the magic cookie
	dhcpBroadcastBit = 0x8000
	maxDHCPMessage   = 1500
)

var dhcpMagic = [4]byte{99, 130, 83, 99}

// dhcpReply is what the appliance uses of a server's OFFER, ACK or NAK.
type dhcpReply struct {
	Type     byte
	XID      uint32
	ClientHW [6]byte
	YourIP   netip.Addr
	ServerID netip.Addr
	Mask     net.IPMask
	Router   netip.Addr
	Lease    time.Duration
}

// Prefix is the address and netmask the reply offers, as a prefix.
func (r dhcpReply) Prefix() (netip.Prefix, error) {
	if r.Mask == nil {
		// RFC 2131 lets a server leave the mask out; a /32 with an on-link
		// route to the router is the safe reading of that.
		return netip.PrefixFrom(r.YourIP, 32), nil
	}
	ones, bits := r.Mask.Size()
	if bits != 32 {
		return netip.Prefix{}, errors.New("DHCP server sent a netmask that is not contiguous")
	}
	return netip.PrefixFrom(r.YourIP, ones), nil
}

// appendDHCPRequest appends a DISCOVER (requested and server unset) or a
// REQUEST for the offered address to b. It asks servers to broadcast their
// replies, since the interface has no address to receive unicast on.
func appendDHCPRequest(b []byte, typ byte, xid uint32, hw net.HardwareAddr, requested, server netip.Addr) []byte {
	var hdr [dhcpFixedLen]byte
	hdr[0] = bootRequest
	hdr[1] = 1 // Ethernet
	hdr[2] = 6
	binary.BigEndian.PutUint32(hdr[4:8], xid)
	binary.BigEndian.PutUint16(hdr[10:12], dhcpBroadcastBit)
	copy(hdr[28:44], hw)
	b = append(b, hdr[:]...)
	b = append(b, dhcpMagic[:]...)
	b = append(b, optMessageType, 1, typ)
	if requested.Is4() {
		a := requested.As4()
		b = append(b, optRequestedIP, 4)
		b = append(b, a[:]...)
	}
	if server.Is4() {
		a := server.As4()
		b = append(b, optServerID, 4)
		b = append(b, a[:]...)
	}
	b = append(b, optParamList, 3, optSubnetMask, optRouter, optLeaseTime)
	b = append(b, optEnd)
	// Some servers drop requests shorter than a BOOTP message (300 bytes).
	for len(b) < 300 {
		b = append(b, optPad)
	}
	return b
}

// parseDHCPReply decodes a server's reply. It checks the message's form, not
// whether it answers our request: the caller compares XID and ClientHW.
func parseDHCPReply(b []byte) (dhcpReply, error) {
	var r dhcpReply
	if len(b) > maxDHCPMessage {
		return r, fmt.Errorf("DHCP reply of %d bytes is too long", len(b))
	}
	if len(b) < dhcpFixedLen+len(dhcpMagic) {
		return r, errors.New("DHCP reply is too short")
	}
	if b[0] != bootReply {
		return r, errors.New("not a DHCP reply")
	}
	if b[1] != 1 || b[2] != 6 {
		return r, errors.New("DHCP reply is not for an Ethernet address")
	}
	if [4]byte(b[dhcpFixedLen:dhcpFixedLen+4]) != dhcpMagic {
		return r, errors.New("DHCP reply lacks the DHCP magic cookie")
	}
	r.XID = binary.BigEndian.Uint32(b[4:8])
	r.YourIP = netip.AddrFrom4([4]byte(b[16:20]))
	copy(r.ClientHW[:], b[28:34])

	opts := b[dhcpFixedLen+4:]
	seenType := false
	for len(opts) > 0 {
		code := opts[0]
		if code == optPad {
			opts = opts[1:]
			continue
		}
		if code == optEnd {
			break
		}
		if len(opts) < 2 || len(opts) < 2+int(opts[1]) {
			return r, errors.New("DHCP reply has a truncated option")
		}
		val := opts[2 : 2+int(opts[1])]
		opts = opts[2+len(val):]
		switch code {
		case optMessageType:
			if len(val) != 1 {
				return r, errors.New("DHCP reply has a malformed message type")
			}
			r.Type, seenType = val[0], true
		case optSubnetMask:
			if len(val) != 4 {
				return r, errors.New("DHCP reply has a malformed netmask")
			}
			r.Mask = net.IPMask(append([]byte(nil), val...))
		case optRouter:
			if len(val) < 4 || len(val)%4 != 0 {
				return r, errors.New("DHCP reply has a malformed router list")
			}
			r.Router = netip.AddrFrom4([4]byte(val[:4]))
		case optServerID:
			if len(val) != 4 {
				return r, errors.New("DHCP reply has a malformed server identifier")
			}
			r.ServerID = netip.AddrFrom4([4]byte(val))
		case optLeaseTime:
			if len(val) != 4 {
				return r, errors.New("DHCP reply has a malformed lease time")
			}
			r.Lease = time.Duration(binary.BigEndian.Uint32(val)) * time.Second
		}
	}
	if !seenType {
		return r, errors.New("DHCP reply has no message type")
	}
	if r.Type == dhcpOffer || r.Type == dhcpAck {
		if !usableUnicast(r.YourIP) {
			return r, fmt.Errorf("DHCP server offered the unusable address %s", r.YourIP)
		}
		if _, err := r.Prefix(); err != nil {
			return r, err
		}
		if r.Router.IsValid() && !usableUnicast(r.Router) {
			return r, fmt.Errorf("DHCP server named the unusable router %s", r.Router)
		}
	}
	return r, nil
}

func usableUnicast(a netip.Addr) bool {
	return a.Is4() && !a.IsUnspecified() && !a.IsMulticast() && !a.IsLoopback() &&
		a != netip.AddrFrom4([4]byte{255, 255, 255, 255})
}
