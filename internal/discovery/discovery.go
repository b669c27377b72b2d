// Package discovery lets a receiver on the same network find a waiting
// sender by its nameplate alone: the sender announces itself with DNS-SD
// over multicast DNS (service _bob._tcp.local, RFC 6762/6763), the receiver
// browses for it.
//
// An announcement says only what a LAN observer could learn from the
// sender's packets anyway, plus the nameplate: the protocol version, the
// nameplate, the relay port (or the address of the relay the sender uses),
// a random token that groups one sender's answers, and the sender's
// addresses. Instance and host names are random; nothing names the machine,
// the person, the files or anything derived from the code's secret words.
package discovery

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/mdns"
)

// Service is the DNS-SD service type bob announces.
const Service = "_bob._tcp"

// version is the announcement format; a receiver ignores other versions.
const version = "1"

// TXT keys of an announcement.
const (
	keyVersion   = "v"
	keyNameplate = "n"
	keyRelay     = "r" // the relay the sender waits at, when it is not its own
	keyToken     = "s" // random per sender: groups its per-interface answers
)

// Announcement is what a waiting sender tells its network.
type Announcement struct {
	Nameplate string
	// Port is where the relay built into the sender listens.
	Port int
	// Relay is the address of the relay the sender waits at when it is not
	// built in; receivers then meet it there, and Port is that relay's port.
	Relay string
}

// Interfaces returns the interfaces discovery uses: up, able to multicast,
// not loopback, with an address.
func Interfaces() ([]net.Interface, error) {
	all, err := net.Interfaces()
	if err != nil {
		return nil, fmt.Errorf("listing network interfaces: %w", err)
	}
	var out []net.Interface
	for _, ifi := range all {
		if ifi.Flags&net.FlagUp == 0 || ifi.Flags&net.FlagMulticast == 0 || ifi.Flags&net.FlagLoopback != 0 {
			continue
		}
		if v4, v6 := families(ifi); v4 || v6 {
			out = append(out, ifi)
		}
	}
	return out, nil
}

// families says which IP versions an interface has addresses of.
func families(ifi net.Interface) (v4, v6 bool) {
	addrs, err := ifi.Addrs()
	if err != nil {
		return false, false
	}
	for _, a := range addrs {
		if ipn, ok := a.(*net.IPNet); ok {
			if ipn.IP.To4() != nil {
				v4 = true
			} else {
				v6 = true
			}
		}
	}
	return v4, v6
}

// announceIPs are the addresses of ifi a receiver can dial: no loopback, and
// no IPv6 link-local (it needs a zone the receiver cannot know).
func announceIPs(ifi net.Interface) []net.IP {
	addrs, err := ifi.Addrs()
	if err != nil {
		return nil
	}
	var out []net.IP
	for _, a := range addrs {
		ipn, ok := a.(*net.IPNet)
		if !ok || ipn.IP.IsLoopback() || ipn.IP.IsLinkLocalUnicast() {
			continue
		}
		out = append(out, ipn.IP)
	}
	return out
}

// randomLabel is a DNS label that says nothing about this machine.
func randomLabel() (string, error) {
	var b [8]byte
	if _, err := io.ReadFull(rand.Reader, b[:]); err != nil {
		return "", err
	}
	return "bob-" + hex.EncodeToString(b[:]), nil
}

// Announcer answers queries for one announcement until Stop.
type Announcer struct {
	servers []*mdns.Server
	once    sync.Once
}

// Announce starts answering queries for a on every interface discovery
// uses. It fails only if no interface could be served.
func Announce(a Announcement, logger *slog.Logger) (*Announcer, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	ifaces, err := Interfaces()
	if err != nil {
		return nil, err
	}
	token, err := randomLabel()
	if err != nil {
		return nil, err
	}
	txt := []string{keyVersion + "=" + version, keyNameplate + "=" + a.Nameplate, keyToken + "=" + strings.TrimPrefix(token, "bob-")}
	if a.Relay != "" {
		txt = append(txt, keyRelay+"="+a.Relay)
	}
	an := &Announcer{}
	var errs []error
	for _, ifi := range ifaces {
		ips := announceIPs(ifi)
		if len(ips) == 0 {
			continue
		}
		// One instance per interface, each with that interface's addresses,
		// so that a receiver learns addresses it can reach.
		instance, err := randomLabel()
		if err != nil {
			return nil, err
		}
		host, err := randomLabel()
		if err != nil {
			return nil, err
		}
		zone, err := mdns.NewMDNSService(instance, Service, "local.", host+".local.", a.Port, ips, txt)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		srv, err := mdns.NewServer(&mdns.Config{Zone: zone, Iface: &ifi, Logger: libraryLogger(logger)})
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", ifi.Name, err))
			continue
		}
		an.servers = append(an.servers, srv)
	}
	if len(an.servers) == 0 {
		if len(errs) == 0 {
			return nil, errors.New("no network interface to announce on")
		}
		return nil, fmt.Errorf("announcing on the local network: %w", errors.Join(errs...))
	}
	logger.Debug("announcing on the local network", "nameplate", a.Nameplate, "interfaces", len(an.servers))
	return an, nil
}

// Stop ends the announcement. It is safe to call more than once.
func (a *Announcer) Stop() {
	a.once.Do(func() {
		for _, s := range a.servers {
			s.Shutdown()
		}
	})
}

// libraryLogger routes the mDNS library's log lines to logger at debug level:
// they are about strangers' packets, not about this transfer.
func libraryLogger(logger *slog.Logger) *log.Logger {
	return slog.NewLogLogger(logger.Handler(), slog.LevelDebug)
}

// Sender is one waiting sender found on the network.
type Sender struct {
	Nameplate string
	// Relay is the address of the relay the sender waits at, if it is not
	// built into the sender.
	Relay string
	// Addrs are where the sender's own relay listens (when Relay is "").
	Addrs []netip.AddrPort
	token string
}

// Browse asks every interface discovery uses for waiting senders and
// collects the answers for window, or until ctx ends. If stopEarly is not
// nil, browsing ends shortly after it reports true for a sender found.
func Browse(ctx context.Context, window time.Duration, logger *slog.Logger, stopEarly func(Sender) bool) ([]Sender, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	ifaces, err := Interfaces()
	if err != nil {
		return nil, err
	}
	if len(ifaces) == 0 {
		return nil, errors.New("no network interface to look for senders on")
	}
	ctx, cancel := context.WithTimeout(ctx, window)
	defer cancel()
	entries := make(chan *mdns.ServiceEntry, 64)
	var wg sync.WaitGroup
	// One query per interface and IP version: the library gives up on a
	// query at its first failed send, and an interface's IPv6 may not be
	// ready (a tentative link-local address) while its IPv4 is.
	var mu sync.Mutex
	var errs []error
	queries := 0
	for _, ifi := range ifaces {
		v4, v6 := families(ifi)
		for _, ipv6 := range []bool{false, true} {
			if (ipv6 && !v6) || (!ipv6 && !v4) {
				continue
			}
			params := &mdns.QueryParam{
				Service:     Service,
				Domain:      "local",
				Timeout:     window,
				Interface:   &ifi,
				Entries:     entries,
				DisableIPv4: ipv6,
				DisableIPv6: !ipv6,
				Logger:      libraryLogger(logger),
			}
			queries++
			wg.Go(func() {
				if err := mdns.QueryContext(ctx, params); err != nil {
					logger.Debug("mDNS query failed", "interface", ifi.Name, "ipv6", ipv6, "err", err)
					mu.Lock()
					errs = append(errs, fmt.Errorf("%s: %w", ifi.Name, err))
					mu.Unlock()
				}
			})
		}
	}
	queried := make(chan struct{})
	go func() { wg.Wait(); close(queried) }()

	found := map[string]*Sender{}
	var order []string
	var early <-chan time.Time
collect:
	for {
		select {
		case e := <-entries:
			s, ok := parseEntry(e)
			if !ok {
				logger.Debug("ignored an announcement", "name", e.Name)
				continue
			}
			if have, ok := found[s.token]; ok {
				have.Addrs = appendNew(have.Addrs, s.Addrs...)
			} else {
				found[s.token] = &s
				order = append(order, s.token)
			}
			if early == nil && stopEarly != nil && stopEarly(s) {
				// Wait a little for a second sender with the same nameplate.
				early = time.After(min(window/4, 300*time.Millisecond))
			}
		case <-early:
			cancel()
		case <-queried:
			break collect
		}
	}
	// Entries sent just before the queries ended.
	for len(entries) > 0 {
		if s, ok := parseEntry(<-entries); ok {
			if have, ok := found[s.token]; ok {
				have.Addrs = appendNew(have.Addrs, s.Addrs...)
			} else {
				found[s.token] = &s
				order = append(order, s.token)
			}
		}
	}
	out := make([]Sender, 0, len(order))
	for _, t := range order {
		out = append(out, *found[t])
	}
	mu.Lock()
	defer mu.Unlock()
	if len(out) == 0 && len(errs) > 0 && len(errs) == queries {
		return nil, fmt.Errorf("looking for senders on the local network: %w", errors.Join(errs...))
	}
	return out, nil
}

func appendNew(list []netip.AddrPort, add ...netip.AddrPort) []netip.AddrPort {
	for _, a := range add {
		seen := false
		for _, b := range list {
			seen = seen || a == b
		}
		if !seen {
			list = append(list, a)
		}
	}
	return list
}

// parseEntry reads an answer; ok is false for anything that is not a
// well-formed announcement of this version.
func parseEntry(e *mdns.ServiceEntry) (s Sender, ok bool) {
	if e == nil || e.Port <= 0 || e.Port > 65535 {
		return s, false
	}
	txt, ok := parseTXT(e.InfoFields)
	if !ok || txt[keyVersion] != version {
		return s, false
	}
	s.Nameplate, s.Relay, s.token = txt[keyNameplate], txt[keyRelay], txt[keyToken]
	if !validNameplate(s.Nameplate) || s.token == "" {
		return s, false
	}
	if s.Relay != "" {
		if _, _, err := net.SplitHostPort(s.Relay); err != nil {
			return s, false
		}
		return s, true
	}
	for _, ip := range []net.IP{e.AddrV4, e.AddrV6} {
		if a, ok := netip.AddrFromSlice(ip); ok && ip != nil {
			a = a.Unmap()
			if a.IsLoopback() || a.IsLinkLocalUnicast() || a.IsUnspecified() || a.IsMulticast() {
				continue
			}
			s.Addrs = append(s.Addrs, netip.AddrPortFrom(a, uint16(e.Port)))
		}
	}
	return s, len(s.Addrs) > 0
}

// maxTXT bounds what is read of a stranger's TXT record.
const maxTXT = 8

func parseTXT(fields []string) (map[string]string, bool) {
	if len(fields) > maxTXT {
		return nil, false
	}
	m := make(map[string]string, len(fields))
	for _, f := range fields {
		k, v, ok := strings.Cut(f, "=")
		if !ok || len(v) > 255 {
			return nil, false
		}
		if _, dup := m[k]; dup {
			return nil, false
		}
		m[k] = v
	}
	return m, true
}

func validNameplate(n string) bool {
	if n == "" || len(n) > 8 {
		return false
	}
	_, err := strconv.ParseUint(n, 10, 32)
	return err == nil
}
