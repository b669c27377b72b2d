package relay

import (
	"net"
	"net/netip"
	"time"

	"golang.org/x/time/rate"
)

// addrLimits applies the per-address limits: connections at once and their
// rate per IPv4 address or IPv6 /64, and connections at once per IPv6 /56
// and /48, since one customer commonly holds a /56 or a /48 and could
// otherwise fill the relay from its many /64s. It is not safe for
// concurrent use; the server calls it under its lock.
type addrLimits struct {
	perIP, per56, per48 int // <= 0: no limit
	rate                rate.Limit
	burst               int // <= 0, or rate Inf or 0: no rate limit

	ips       map[netip.Addr]*ipState // by ipKey
	blocks    map[netip.Prefix]int    // connections per IPv6 /56 and /48
	lastSweep time.Time
}

type ipState struct {
	conns int
	lim   *rate.Limiter // nil when the rate is not limited
}

func newAddrLimits(cfg Config) *addrLimits {
	return &addrLimits{
		perIP: cfg.MaxConnsPerIP, per56: cfg.MaxConnsPer56, per48: cfg.MaxConnsPer48,
		rate: cfg.PerIPRate, burst: cfg.PerIPBurst,
		ips:    make(map[netip.Addr]*ipState),
		blocks: make(map[netip.Prefix]int),
	}
}

func (l *addrLimits) rateLimited() bool {
	return l.rate > 0 && l.rate != rate.Inf && l.burst > 0
}

// admit counts a connection from ip, or returns why it is refused.
func (l *addrLimits) admit(ip netip.Addr, now time.Time) (reason string) {
	if now.Sub(l.lastSweep) > time.Minute {
		l.sweep(now)
	}
	key := ipKey(ip)
	st := l.ips[key]
	if st == nil {
		st = &ipState{}
		if l.rateLimited() {
			st.lim = rate.NewLimiter(l.rate, l.burst)
		}
		l.ips[key] = st
	}
	p56, p48 := blocks(ip)
	switch {
	case l.perIP > 0 && st.conns >= l.perIP:
		return reasonPerIP
	case p56.IsValid() && l.per56 > 0 && l.blocks[p56] >= l.per56:
		l.dropIdle(key, st, now)
		return reasonPer56
	case p48.IsValid() && l.per48 > 0 && l.blocks[p48] >= l.per48:
		l.dropIdle(key, st, now)
		return reasonPer48
	case st.lim != nil && !st.lim.AllowN(now, 1):
		l.dropIdle(key, st, now)
		return reasonRate
	}
	st.conns++
	if p56.IsValid() {
		l.blocks[p56]++
		l.blocks[p48]++
	}
	return ""
}

// release uncounts a connection admit counted.
func (l *addrLimits) release(ip netip.Addr, now time.Time) {
	key := ipKey(ip)
	if st := l.ips[key]; st != nil {
		st.conns--
		l.dropIdle(key, st, now)
	}
	if p56, p48 := blocks(ip); p56.IsValid() {
		for _, p := range []netip.Prefix{p56, p48} {
			if l.blocks[p]--; l.blocks[p] <= 0 {
				delete(l.blocks, p)
			}
		}
	}
}

// dropIdle forgets an address with no connections whose rate limiter has
// refilled: remembering it would change nothing.
func (l *addrLimits) dropIdle(key netip.Addr, st *ipState, now time.Time) {
	if st.conns == 0 && (st.lim == nil || st.lim.TokensAt(now) >= float64(l.burst)) {
		delete(l.ips, key)
	}
}

func (l *addrLimits) sweep(now time.Time) {
	l.lastSweep = now
	for key, st := range l.ips {
		l.dropIdle(key, st, now)
	}
}

// remoteIP is the address a connection comes from, IPv4-mapped ones as IPv4.
func remoteIP(addr net.Addr) netip.Addr {
	if ta, ok := addr.(*net.TCPAddr); ok {
		return ta.AddrPort().Addr().Unmap()
	}
	if ap, err := netip.ParseAddrPort(addr.String()); err == nil {
		return ap.Addr().Unmap()
	}
	return netip.Addr{}
}

// ipKey is the per-IP bucket of ip: the IPv4 address, or the IPv6 /64,
// since one host commonly holds a whole /64.
func ipKey(ip netip.Addr) netip.Addr {
	if ip.Is6() {
		if p, err := ip.Prefix(64); err == nil {
			return p.Addr()
		}
	}
	return ip
}

// blocks returns the IPv6 /56 and /48 holding ip, or invalid prefixes for
// IPv4.
func blocks(ip netip.Addr) (p56, p48 netip.Prefix) {
	if !ip.Is6() {
		return netip.Prefix{}, netip.Prefix{}
	}
	p56, _ = ip.Prefix(56)
	p48, _ = ip.Prefix(48)
	return p56, p48
}
