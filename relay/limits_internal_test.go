package relay

import (
	"net/netip"
	"testing"
	"time"

	"golang.org/x/time/rate"
)

// TestAddrLimitsIPv6Blocks fills one /64, then its /56, then its /48, as an
// attacker holding a /48 could: each block's cap holds, and other blocks
// and IPv4 are not affected.
func TestAddrLimitsIPv6Blocks(t *testing.T) {
	l := newAddrLimits(Config{MaxConnsPerIP: 2, MaxConnsPer56: 3, MaxConnsPer48: 5, PerIPRate: rate.Inf})
	now := time.Unix(1_000_000, 0)
	steps := []struct{ addr, want string }{
		{"2001:db8:0:1::1", ""},
		{"2001:db8:0:1::2", ""},            // same /64
		{"2001:db8:0:1::3", reasonPerIP},   // third in the /64
		{"2001:db8:0:2::1", ""},            // same /56, third in it
		{"2001:db8:0:3::1", reasonPer56},   // fourth in the /56
		{"2001:db8:0:100::1", ""},          // another /56 of the /48
		{"2001:db8:0:200::1", ""},          // the /48's fifth
		{"2001:db8:0:300::1", reasonPer48}, // sixth in the /48
		{"2001:db8:1::1", ""},              // another /48
		{"192.0.2.1", ""},                  // IPv4 has no blocks
		{"192.0.2.2", ""},
		{"::ffff:192.0.2.3", ""},
	}
	var admitted []netip.Addr
	for _, s := range steps {
		ip := netip.MustParseAddr(s.addr).Unmap()
		got := l.admit(ip, now)
		if got != s.want {
			t.Errorf("admit(%s) = %q, want %q", s.addr, got, s.want)
		}
		if got == "" {
			admitted = append(admitted, ip)
		}
	}
	// A connection leaving its /56 makes room for one more there.
	l.release(netip.MustParseAddr("2001:db8:0:2::1"), now)
	admitted = removeAddr(admitted, netip.MustParseAddr("2001:db8:0:2::1"))
	if got := l.admit(netip.MustParseAddr("2001:db8:0:3::1"), now); got != "" {
		t.Errorf("after a release in the /56: admit = %q, want it admitted", got)
	} else {
		admitted = append(admitted, netip.MustParseAddr("2001:db8:0:3::1"))
	}
	for _, ip := range admitted {
		l.release(ip, now)
	}
	if len(l.ips) != 0 || len(l.blocks) != 0 {
		t.Errorf("after every release: %d addresses and %d blocks remembered, want none", len(l.ips), len(l.blocks))
	}
}

func removeAddr(list []netip.Addr, ip netip.Addr) []netip.Addr {
	for i, a := range list {
		if a == ip {
			return append(list[:i], list[i+1:]...)
		}
	}
	return list
}

// TestAddrLimitsRate: the per-/64 rate applies to every address of the /64.
func TestAddrLimitsRate(t *testing.T) {
	l := newAddrLimits(Config{PerIPRate: 1, PerIPBurst: 2})
	now := time.Unix(1_000_000, 0)
	for i, addr := range []string{"2001:db8::1", "2001:db8::2", "2001:db8::3"} {
		ip := netip.MustParseAddr(addr)
		got := l.admit(ip, now)
		if want := map[bool]string{true: reasonRate, false: ""}[i == 2]; got != want {
			t.Errorf("admit(%s) = %q, want %q", addr, got, want)
		}
		if got == "" {
			l.release(ip, now)
		}
	}
	if got := l.admit(netip.MustParseAddr("2001:db8::4"), now.Add(time.Second)); got != "" {
		t.Errorf("a second later: admit = %q, want it admitted", got)
	}
}
