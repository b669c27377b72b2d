package appliance

import (
	"bytes"
	"encoding/binary"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"
)

var testHW = net.HardwareAddr{0x52, 0x54, 0x00, 0x12, 0x34, 0x56}

// serverReply builds a server's reply as qemu's user network sends it.
func serverReply(typ byte, xid uint32, yiaddr string, opts ...[]byte) []byte {
	b := make([]byte, dhcpFixedLen)
	b[0], b[1], b[2] = bootReply, 1, 6
	binary.BigEndian.PutUint32(b[4:8], xid)
	a := netip.MustParseAddr(yiaddr).As4()
	copy(b[16:20], a[:])
	copy(b[28:], testHW)
	b = append(b, dhcpMagic[:]...)
	b = append(b, optMessageType, 1, typ)
	for _, o := range opts {
		b = append(b, o...)
	}
	return append(b, optEnd)
}

func ipOpt(code byte, addr string) []byte {
	a := netip.MustParseAddr(addr).As4()
	return append([]byte{code, 4}, a[:]...)
}

func TestDHCPRequestEncoding(t *testing.T) {
	msg := appendDHCPRequest(nil, dhcpRequest, 0xdeadbeef, testHW,
		netip.MustParseAddr("10.0.2.15"), netip.MustParseAddr("10.0.2.2"))
	if len(msg) < 300 {
		t.Errorf("request is %d bytes, want at least a BOOTP message's 300", len(msg))
	}
	if msg[0] != bootRequest || msg[1] != 1 || msg[2] != 6 {
		t.Errorf("op/htype/hlen = %d/%d/%d", msg[0], msg[1], msg[2])
	}
	if got := binary.BigEndian.Uint32(msg[4:8]); got != 0xdeadbeef {
		t.Errorf("xid = %#x", got)
	}
	if got := binary.BigEndian.Uint16(msg[10:12]); got != dhcpBroadcastBit {
		t.Errorf("flags = %#x, want the broadcast bit", got)
	}
	if !bytes.Equal(msg[28:34], testHW) {
		t.Errorf("chaddr = % x", msg[28:34])
	}
	opts := msg[dhcpFixedLen+4:]
	for _, want := range [][]byte{
		{optMessageType, 1, dhcpRequest},
		{optRequestedIP, 4, 10, 0, 2, 15},
		{optServerID, 4, 10, 0, 2, 2},
		{optParamList, 3, optSubnetMask, optRouter, optLeaseTime},
	} {
		if !bytes.Contains(opts, want) {
			t.Errorf("options % x lack % x", opts, want)
		}
	}
	discover := appendDHCPRequest(nil, dhcpDiscover, 1, testHW, netip.Addr{}, netip.Addr{})
	if bytes.Contains(discover[dhcpFixedLen:], []byte{optRequestedIP, 4}) {
		t.Error("discover names a requested address")
	}
}

func TestParseDHCPReply(t *testing.T) {
	b := serverReply(dhcpAck, 42, "10.0.2.15",
		[]byte{optPad, optPad},
		ipOpt(optServerID, "10.0.2.2"),
		ipOpt(optSubnetMask, "255.255.255.0"),
		[]byte{optRouter, 8, 10, 0, 2, 2, 10, 0, 2, 3}, // two routers: the first is used
		[]byte{optLeaseTime, 4, 0, 1, 0x51, 0x80},
		[]byte{12, 3, 'v', 'm', '1'}, // host name: ignored
	)
	r, err := parseDHCPReply(b)
	if err != nil {
		t.Fatal(err)
	}
	if r.Type != dhcpAck || r.XID != 42 || r.ClientHW != [6]byte(testHW) {
		t.Errorf("type/xid/hw = %d/%d/% x", r.Type, r.XID, r.ClientHW)
	}
	p, err := r.Prefix()
	if err != nil || p != netip.MustParsePrefix("10.0.2.15/24") {
		t.Errorf("Prefix = %v, %v", p, err)
	}
	if r.Router != netip.MustParseAddr("10.0.2.2") || r.ServerID != netip.MustParseAddr("10.0.2.2") {
		t.Errorf("router %v server %v", r.Router, r.ServerID)
	}
	if r.Lease != 24*time.Hour {
		t.Errorf("lease = %v", r.Lease)
	}
}

func TestParseDHCPReplyNoMask(t *testing.T) {
	r, err := parseDHCPReply(serverReply(dhcpOffer, 1, "192.0.2.7"))
	if err != nil {
		t.Fatal(err)
	}
	if p, _ := r.Prefix(); p != netip.MustParsePrefix("192.0.2.7/32") {
		t.Errorf("Prefix without a netmask = %v, want a /32", p)
	}
}

func TestParseDHCPReplyErrors(t *testing.T) {
	ok := serverReply(dhcpOffer, 1, "10.0.2.15", ipOpt(optSubnetMask, "255.255.255.0"))
	mutate := func(f func(b []byte) []byte) []byte {
		return f(append([]byte(nil), ok...))
	}
	tests := map[string][]byte{
		"empty":          nil,
		"short":          ok[:100],
		"request":        mutate(func(b []byte) []byte { b[0] = bootRequest; return b }),
		"not ethernet":   mutate(func(b []byte) []byte { b[1] = 6; return b }),
		"no cookie":      mutate(func(b []byte) []byte { b[dhcpFixedLen] = 0; return b }),
		"no type":        serverReply(dhcpOffer, 1, "10.0.2.15")[:dhcpFixedLen+4],
		"truncated opt":  append(serverReply(dhcpOffer, 1, "10.0.2.15")[:dhcpFixedLen+7], optSubnetMask, 4, 255),
		"bad mask len":   serverReply(dhcpOffer, 1, "10.0.2.15", []byte{optSubnetMask, 3, 255, 255, 255}),
		"holey mask":     serverReply(dhcpOffer, 1, "10.0.2.15", ipOpt(optSubnetMask, "255.0.255.0")),
		"bad type len":   append(serverReply(dhcpOffer, 1, "10.0.2.15")[:dhcpFixedLen+4], optMessageType, 2, 2, 2, optEnd),
		"bad router len": serverReply(dhcpOffer, 1, "10.0.2.15", []byte{optRouter, 5, 1, 2, 3, 4, 5}),
		"bad lease len":  serverReply(dhcpOffer, 1, "10.0.2.15", []byte{optLeaseTime, 2, 1, 2}),
		"bad server len": serverReply(dhcpOffer, 1, "10.0.2.15", []byte{optServerID, 0}),
		"zero address":   serverReply(dhcpOffer, 1, "0.0.0.0"),
		"broadcast addr": serverReply(dhcpAck, 1, "255.255.255.255"),
		"loopback addr":  serverReply(dhcpAck, 1, "127.0.0.1"),
		"multicast rtr":  serverReply(dhcpAck, 1, "10.0.2.15", ipOpt(optRouter, "224.0.0.1")),
		"oversized":      append(serverReply(dhcpOffer, 1, "10.0.2.15"), make([]byte, maxDHCPMessage)...),
	}
	for name, b := range tests {
		t.Run(name, func(t *testing.T) {
			if r, err := parseDHCPReply(b); err == nil {
				t.Errorf("parseDHCPReply = %+v, want an error", r)
			}
		})
	}
	// A NAK carries no address and is still a valid reply.
	if r, err := parseDHCPReply(serverReply(dhcpNak, 1, "0.0.0.0")); err != nil || r.Type != dhcpNak {
		t.Errorf("NAK: %+v, %v", r, err)
	}
}

func FuzzParseDHCPReply(f *testing.F) {
	f.Add(serverReply(dhcpOffer, 7, "10.0.2.15", ipOpt(optSubnetMask, "255.255.255.0"), ipOpt(optServerID, "10.0.2.2")))
	f.Add(serverReply(dhcpAck, 7, "10.0.2.15", ipOpt(optRouter, "10.0.2.2"), []byte{optLeaseTime, 4, 0, 0, 0, 60}))
	f.Add(serverReply(dhcpNak, 7, "0.0.0.0"))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := parseDHCPReply(b)
		if err != nil {
			return
		}
		if r.Type == dhcpOffer || r.Type == dhcpAck {
			p, err := r.Prefix()
			if err != nil || !p.IsValid() || !usableUnicast(p.Addr()) {
				t.Errorf("accepted an unusable lease %v (%v)", p, err)
			}
		}
		if r.Router.IsValid() && strings.HasPrefix(r.Router.String(), "224.") {
			t.Errorf("accepted multicast router %v", r.Router)
		}
	})
}
