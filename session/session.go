package session

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/bob-p2p/bob/internal/codes"
	"github.com/bob-p2p/bob/internal/discovery"
	"github.com/bob-p2p/bob/relay/rendezvous"
	"github.com/bob-p2p/bob/transfer"
	"github.com/bob-p2p/bob/transfer/secure"
)

// DefaultBrowseWindow is how long a receiver with no relay configured looks
// for its sender on the local network.
const DefaultBrowseWindow = 1500 * time.Millisecond

// senderBrowseWindow is how long a sender with its built-in relay looks at
// the nameplates other senders nearby announce, to draw one none uses.
const senderBrowseWindow = 700 * time.Millisecond

// Config is how a session reaches its peer.
type Config struct {
	// Relays are a configured relay's addresses (HOST:PORT), tried at once.
	// None means no relay is configured: the sender runs one inside itself
	// and the receiver finds it on the local network or on this machine.
	Relays   []string
	Password string // of a private relay
	// Listen is where the sender's built-in relay listens: "" (every
	// interface, port 9009 or the next free one), HOST, or HOST:PORT.
	Listen string
	// NoDiscovery turns off announcing and looking on the local network.
	NoDiscovery bool
	// NoDirect keeps the data on the relay.
	NoDirect bool
	// Events receives what happens, from the session's goroutine.
	Events func(transfer.Event)
	// Logger gets what a person need not see: strangers turned away,
	// paths that did not work. Nil discards.
	Logger *slog.Logger
	// DirectWindow is how long the sender waits for a direct path once it
	// knows the receiver's addresses; 0 means DefaultDirectWindow.
	DirectWindow time.Duration
	// LateWindow is how long after DirectWindow a direct path found late
	// (through NATs) still takes the transfer over from the relay; 0 means
	// DefaultLateWindow.
	LateWindow time.Duration
	// BrowseWindow is how long a receiver looks on the local network; 0
	// means DefaultBrowseWindow.
	BrowseWindow time.Duration
	// LocalRelay is where a receiver with no relay configured looks on its
	// own machine; "" means DefaultLocalRelay.
	LocalRelay string

	// Tests on one machine: this side's direct candidates, and dialling
	// loopback ones (never done otherwise).
	directAddrs  []netip.Addr
	loopbackOK   bool
	testOnListen func(net.Addr) // told where this side listens for direct connections
}

func (c *Config) defaults() {
	if c.Events == nil {
		c.Events = func(transfer.Event) {}
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.DirectWindow <= 0 {
		c.DirectWindow = DefaultDirectWindow
	}
	if c.LateWindow <= 0 {
		c.LateWindow = DefaultLateWindow
	}
	if c.BrowseWindow <= 0 {
		c.BrowseWindow = DefaultBrowseWindow
	}
	if c.LocalRelay == "" {
		c.LocalRelay = DefaultLocalRelay
	}
}

// features are the handshake features this side offers. Compression needs
// none: every version of the transfer protocol has zstd.
func (c *Config) features() []string {
	if c.NoDirect {
		return nil
	}
	return []string{featureDirect}
}

func (c *Config) direct(role secure.Role) directConfig {
	return directConfig{role: role, window: c.DirectWindow, late: c.LateWindow, logger: c.Logger, addrs: c.directAddrs, loopbackOK: c.loopbackOK, onListen: c.testOnListen}
}

// Send offers what opts names under a new code (or chosen, if its Secret is
// set) and returns once the receiver confirmed it all, or failed.
func Send(ctx context.Context, cfg Config, chosen codes.Code, opts transfer.SendOptions) error {
	cfg.defaults()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	dialAddrs, reach := cfg.Relays, []string(nil)
	embedded := len(cfg.Relays) == 0
	var relayAddr *net.TCPAddr
	if embedded {
		addr, relayDone, err := startEmbeddedRelay(ctx, cfg.Listen)
		if err != nil {
			return err
		}
		defer func() { cancel(); <-relayDone }()
		relayAddr = addr
		var dial string
		dial, reach = embeddedAddrs(addr)
		dialAddrs = []string{dial}
	}
	// Announce only what a receiver elsewhere can reach: not a built-in
	// relay that listens on one address (such as loopback).
	announce := !cfg.NoDiscovery && (!embedded || relayAddr.IP.IsUnspecified())

	nameplate := chosen.Nameplate
	if embedded && nameplate == "" && announce {
		nameplate = drawNameplate(ctx, cfg.Logger)
	}

	cfg.Events(transfer.Connecting{Relay: strings.Join(dialAddrs, ", ")})
	conn, dialled, err := dialRelay(ctx, dialAddrs)
	if err != nil {
		return err
	}
	defer conn.Close()
	stopClose := closeOnCancel(ctx, conn)
	defer stopClose()

	nameplate, err = rendezvous.Open(ctx, conn, nameplate, cfg.Password)
	if err != nil {
		return relayError(dialled, cfg.Password, err)
	}
	code := chosen
	if code.Secret == "" {
		if code, err = codes.Generate(nameplate, nil); err != nil {
			return err
		}
	}
	ready := transfer.CodeReady{Code: code.String()}
	switch {
	case embedded:
		ready.Hints = reach
		if !announce {
			ready.Relay = reach[0]
		}
	case dialled != DefaultLocalRelay:
		ready.Relay = dialled
	}

	var an *discovery.Announcer
	if announce {
		a := discovery.Announcement{Nameplate: nameplate}
		if embedded {
			a.Port = relayAddr.Port
		} else {
			a.Relay = dialled
			_, port, _ := net.SplitHostPort(dialled)
			a.Port, _ = strconv.Atoi(port)
		}
		if an, err = discovery.Announce(a, cfg.Logger); err != nil {
			cfg.Logger.Warn("not announced on the local network: receivers need the relay's address", "err", err)
			if embedded {
				ready.Relay = reach[0]
			}
		} else {
			defer an.Stop()
		}
	}
	cfg.Events(ready)
	observed, err := rendezvous.WaitPairedObserved(ctx, conn)
	if an != nil {
		an.Stop() // paired: nobody else needs to find us
	}
	if err != nil {
		return relayError(dialled, cfg.Password, err)
	}
	cfg.Events(transfer.Paired{})
	hs := secure.Config{Code: code.String(), Nameplate: nameplate, Role: secure.Sender, Features: cfg.features()}
	return run(ctx, cfg, conn, dialled, observed, hs, stopClose, func(ch transfer.Channel, events func(transfer.Event)) error {
		return transfer.Send(ctx, ch, opts, events)
	})
}

// drawNameplate picks a nameplate no sender nearby announces, so that two
// senders on one network do not meet their receivers under one number.
func drawNameplate(ctx context.Context, logger *slog.Logger) string {
	used := map[string]bool{}
	found, err := discovery.Browse(ctx, senderBrowseWindow, logger, nil)
	if err != nil {
		logger.Debug("could not look at nameplates in use nearby", "err", err)
	}
	for _, s := range found {
		used[s.Nameplate] = true
	}
	for _, limit := range []int64{99, 999, 9999} {
		var free []int64
		for n := int64(1); n <= limit; n++ {
			if !used[strconv.FormatInt(n, 10)] {
				free = append(free, n)
			}
		}
		if len(free) > 0 {
			i, err := rand.Int(rand.Reader, big.NewInt(int64(len(free))))
			if err != nil {
				return "" // the relay assigns one
			}
			return strconv.FormatInt(free[i.Int64()], 10)
		}
	}
	return ""
}

// Receive receives what the sender under code offers.
func Receive(ctx context.Context, cfg Config, code codes.Code, opts transfer.ReceiveOptions) error {
	cfg.defaults()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var conn net.Conn
	var dialled string
	var err error
	if len(cfg.Relays) > 0 {
		cfg.Events(transfer.Connecting{Relay: strings.Join(cfg.Relays, ", ")})
		conn, dialled, err = dialRelay(ctx, cfg.Relays)
	} else {
		conn, dialled, err = findSender(ctx, cfg, code.Nameplate)
	}
	if err != nil {
		return err
	}
	defer conn.Close()
	stopClose := closeOnCancel(ctx, conn)
	defer stopClose()
	observed, err := rendezvous.ClaimObserved(ctx, conn, code.Nameplate, cfg.Password)
	if err != nil {
		return relayError(dialled, cfg.Password, err)
	}
	cfg.Events(transfer.Paired{})
	hs := secure.Config{Code: code.String(), Nameplate: code.Nameplate, Role: secure.Receiver, Features: cfg.features()}
	return run(ctx, cfg, conn, dialled, observed, hs, stopClose, func(ch transfer.Channel, events func(transfer.Event)) error {
		return transfer.Receive(ctx, ch, opts, events)
	})
}

// findSender is where a receiver with no relay configured meets its
// sender: the one sender on the local network announcing the nameplate,
// else the relay of a bob send on this machine.
func findSender(ctx context.Context, cfg Config, nameplate string) (net.Conn, string, error) {
	cfg.Events(transfer.Connecting{})
	type dialResult struct {
		conn net.Conn
		addr string
		err  error
	}
	local := make(chan dialResult, 1)
	go func() {
		c, a, err := dialRelay(ctx, []string{cfg.LocalRelay})
		local <- dialResult{c, a, err}
	}()
	var matches []discovery.Sender
	var browseErr error
	if !cfg.NoDiscovery {
		var found []discovery.Sender
		found, browseErr = discovery.Browse(ctx, cfg.BrowseWindow, cfg.Logger, func(s discovery.Sender) bool { return s.Nameplate == nameplate })
		for _, s := range found {
			if s.Nameplate == nameplate {
				matches = append(matches, s)
			}
		}
		if browseErr != nil {
			cfg.Logger.Warn("could not look for the sender on the local network", "err", browseErr)
		}
	}
	l := <-local
	if len(matches) > 0 && l.conn != nil {
		l.conn.Close()
	}
	if err := ctx.Err(); err != nil {
		if l.conn != nil {
			l.conn.Close()
		}
		return nil, "", err
	}
	switch {
	case len(matches) > 1:
		for _, m := range matches {
			cfg.Logger.Warn("a sender on the local network announces this nameplate", "nameplate", nameplate, "relay", m.Relay, "addrs", fmt.Sprint(m.Addrs))
		}
		return nil, "", ErrSeveralSenders
	case len(matches) == 1:
		addrs := []string{matches[0].Relay}
		if matches[0].Relay == "" {
			addrs = addrs[:0]
			for _, a := range matches[0].Addrs {
				addrs = append(addrs, a.String())
			}
		}
		cfg.Events(transfer.Connecting{Relay: strings.Join(addrs, ", ")})
		return dialRelay(ctx, addrs)
	case l.err == nil:
		cfg.Events(transfer.Connecting{Relay: l.addr})
		return l.conn, l.addr, nil
	}
	return nil, "", &NotFoundError{Nameplate: nameplate, Browsed: !cfg.NoDiscovery, BrowseErr: browseErr}
}

// run secures conn, chooses the path and runs the transfer on it. Until
// the channel is secured, stopClose's watch cuts conn at once on cancel;
// after, a cancelled transfer gets cancelGrace to tell the peer.
func run(ctx context.Context, cfg Config, conn net.Conn, relayAddr string, observed netip.AddrPort, hs secure.Config, stopClose func() bool, transferOn func(transfer.Channel, func(transfer.Event)) error) error {
	ch, err := secure.Handshake(ctx, conn, hs)
	if err != nil {
		return handshakeError(hs.Role, err)
	}
	defer ch.Close()
	cfg.Events(transfer.Secured{Cipher: ch.Cipher()})

	p := path{ch: ch, conn: conn}
	if hasFeature(ch.PeerFeatures(), featureDirect) && !cfg.NoDirect {
		dc := cfg.direct(hs.Role)
		dc.observed, dc.relayLocal = observed, addrPort(conn.LocalAddr())
		if hs.Role == secure.Sender {
			p, err = chooseSenderPath(ctx, conn, ch, dc)
		} else {
			p, err = chooseReceiverPath(ctx, conn, ch, dc)
		}
		if err != nil {
			return fmt.Errorf("choosing the path for the data: %w", err)
		}
	}
	var channel transfer.Channel = p.ch
	var closer io.Closer = p.conn
	var m *migrating
	if p.direct {
		// The relay has done its part.
		stopClose()
		conn.Close()
		defer p.ch.Close()
		stopClose = closeOnCancel(ctx, p.conn)
	} else if p.late != nil {
		m = newMigrating(ch, conn)
		defer m.Close()
		channel, closer = m, m
	}
	chosen := transfer.PathChosen{Direct: p.direct, Peer: p.peer, Kind: kindName(p.kind, p.direct)}
	if !p.direct {
		chosen.Relay = relayAddr
	}
	cfg.Events(chosen)
	stopClose()
	defer closeAfterGrace(ctx, closer)()

	var events sync.Mutex // the late switch reports from its own goroutine
	emit := func(e transfer.Event) {
		events.Lock()
		defer events.Unlock()
		cfg.Events(e)
	}
	if m != nil {
		stopLate := switchLate(ctx, hs.Role, p.late, m, cfg.Logger, emit)
		defer stopLate()
	}
	return transferOn(channel, func(e transfer.Event) {
		if d, ok := e.(transfer.Done); ok {
			d.Via, d.Relay = "relay", chosen.Relay
			if p.direct || (m != nil && m.isDirect()) {
				d.Via, d.Relay = "direct", ""
			}
			e = d
		}
		emit(e)
	})
}

// switchLate moves the transfer to a direct connection that the prober
// proves after it started on the relay. The sender marks the connection and
// switches; the receiver follows the mark. stop ends it and waits.
func switchLate(ctx context.Context, role secure.Role, p *prober, m *migrating, logger *slog.Logger, emit func(transfer.Event)) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		var keep net.Conn
		defer func() { p.stop(keep) }()
		var pr proven
		select {
		case pr = <-p.ready:
		case <-p.ctx.Done():
			return
		case <-done:
			return
		}
		if role == secure.Sender {
			if err := pr.ch.WriteRecord(recSelected, nil); err != nil {
				logger.Warn("direct: the connection found late broke", "err", err)
				return
			}
		}
		m.adopt(pr.ch, pr.conn)
		keep = pr.conn // from now on m owns it
		switched, err := m.switchWrites()
		if err != nil {
			logger.Warn("direct: could not move to the connection found late", "err", err)
			return
		}
		if switched || role == secure.Receiver {
			emit(transfer.PathChosen{Direct: true, Peer: pr.peer, Kind: kindName(pr.kind, true)})
		}
	})
	return func() {
		close(done)
		wg.Wait()
	}
}

// kindName is the candidate kind that won, for the JSON output.
func kindName(kind byte, direct bool) string {
	switch {
	case !direct:
		return ""
	case kind == kindReflexive:
		return "reflexive"
	}
	return "local"
}

func hasFeature(list []string, f string) bool {
	for _, v := range list {
		if v == f {
			return true
		}
	}
	return false
}
