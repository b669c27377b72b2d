package appliance

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// dhcpWaits bounds the DISCOVER/REQUEST rounds; each waits a little
// longer for an answer, about 45 s in all.
var dhcpWaits = []time.Duration{
	1 * time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 10 * time.Second, 10 * time.Second, 10 * time.Second,
}

// requestLease obtains an IPv4 lease for the interface by DHCP. It uses a
// UDP socket bound to the interface: Linux sends to 255.255.255.255 through
// a bound device even before the interface has an address, and the request
// asks the server to broadcast its reply.
func requestLease(ctx context.Context, iface string, hw net.HardwareAddr) (dhcpReply, error) {
	if len(hw) != 6 {
		return dhcpReply{}, fmt.Errorf("interface %s has no Ethernet address", iface)
	}
	lc := net.ListenConfig{Control: func(_, _ string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) {
			if serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_BROADCAST, 1); serr != nil {
				return
			}
			if serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEADDR, 1); serr != nil {
				return
			}
			serr = unix.BindToDevice(int(fd), iface)
		})
		return errors.Join(err, serr)
	}}
	pc, err := lc.ListenPacket(ctx, "udp4", "0.0.0.0:68")
	if err != nil {
		return dhcpReply{}, err
	}
	defer pc.Close()
	stop := context.AfterFunc(ctx, func() { pc.SetDeadline(time.Now()) })
	defer stop()

	server := &net.UDPAddr{IP: net.IPv4bcast, Port: 67}
	var hwa [6]byte
	copy(hwa[:], hw)
	var lastErr error = errors.New("no DHCP server answered")
	for _, wait := range dhcpWaits {
		var b [4]byte
		if _, err := rand.Read(b[:]); err != nil {
			return dhcpReply{}, err
		}
		xid := binary.BigEndian.Uint32(b[:])
		msg := appendDHCPRequest(nil, dhcpDiscover, xid, hw, netip.Addr{}, netip.Addr{})
		if _, err := pc.WriteTo(msg, server); err != nil {
			return dhcpReply{}, fmt.Errorf("sending DHCP discover: %w", err)
		}
		offer, err := awaitReply(ctx, pc, xid, hwa, wait, dhcpOffer)
		if err != nil {
			lastErr = err
			continue
		}
		msg = appendDHCPRequest(nil, dhcpRequest, xid, hw, offer.YourIP, offer.ServerID)
		if _, err := pc.WriteTo(msg, server); err != nil {
			return dhcpReply{}, fmt.Errorf("sending DHCP request: %w", err)
		}
		ack, err := awaitReply(ctx, pc, xid, hwa, wait, dhcpAck)
		if err != nil {
			lastErr = err
			continue
		}
		return ack, nil
	}
	if ctx.Err() != nil {
		return dhcpReply{}, ctx.Err()
	}
	return dhcpReply{}, lastErr
}

// awaitReply reads replies until one of type want answers xid from hw, a
// NAK answers it, or wait passes. Other traffic on port 68 is ignored.
func awaitReply(ctx context.Context, pc net.PacketConn, xid uint32, hw [6]byte, wait time.Duration, want byte) (dhcpReply, error) {
	if err := pc.SetReadDeadline(time.Now().Add(wait)); err != nil {
		return dhcpReply{}, err
	}
	buf := make([]byte, maxDHCPMessage+1)
	for {
		n, _, err := pc.ReadFrom(buf)
		if err != nil {
			if ctx.Err() != nil {
				return dhcpReply{}, ctx.Err()
			}
			return dhcpReply{}, fmt.Errorf("no DHCP reply within %s: %w", wait, err)
		}
		r, err := parseDHCPReply(buf[:n])
		if err != nil || r.XID != xid || r.ClientHW != hw {
			continue
		}
		switch r.Type {
		case want:
			return r, nil
		case dhcpNak:
			return dhcpReply{}, errors.New("DHCP server refused the request")
		}
	}
}
