package session

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/bob-p2p/bob/internal/wake"
	"github.com/bob-p2p/bob/transfer/secure"
)

// featureDirect is offered in the handshake by a side that takes part in
// choosing a direct path; both must offer it.
const featureDirect = "direct1"

// DefaultDirectWindow is how long the sender waits for a direct connection
// once it knows the receiver's addresses, before the transfer starts on the
// relay.
const DefaultDirectWindow = time.Second

// DefaultLateWindow is how long after that a direct path found late (a
// hole punched through both NATs) still takes over from the relay.
const DefaultLateWindow = 10 * time.Second

// directHandshakeTimeout bounds one direct connection's handshake: a
// stranger that connects and stalls holds nothing for longer.
const directHandshakeTimeout = 3 * time.Second

// maxPendingDirect bounds the connections accepted and being proven at
// once, so that strangers cannot exhaust our descriptors.
const maxPendingDirect = 8

// decisionTimeout bounds how long the receiver waits for the sender's
// choice of path, and for the chosen direct connection's mark after it.
const decisionTimeout = 15 * time.Second

// punchEvery is how often a hole-punching connection is tried again: each
// try's SYN keeps this side's NAT mapping open for the peer's.
const punchEvery = 150 * time.Millisecond

// path is what carries the transfer.
type path struct {
	ch     *secure.Conn
	conn   net.Conn // ch's transport
	direct bool
	peer   string // the peer's address, when direct
	kind   byte   // the candidate kind that won, when direct
	late   *prober
}

// proven is a direct connection whose handshake succeeded (and, on the
// receiver, that the sender marked as the one to use).
type proven struct {
	ch   *secure.Conn
	conn net.Conn
	peer string
	kind byte
}

// directConfig is how one side takes part in choosing a direct path.
type directConfig struct {
	role   secure.Role
	window time.Duration // sender: how long the transfer waits for a direct path
	late   time.Duration // how long after that a direct path still takes over
	logger *slog.Logger
	// observed is where the relay saw this side; relayLocal is this side's
	// end of the relay connection, whose port hole punching reuses.
	observed, relayLocal netip.AddrPort
	// addrs are this side's local candidate addresses; nil means localAddrs.
	addrs []netip.Addr
	// loopbackOK lets tests on one machine dial loopback candidates.
	loopbackOK bool
	onListen   func(net.Addr) // tests: where this side listens
}

// listenDirect opens the listener of this session's direct connections and
// returns the candidates that lead to it and to this side's NAT mapping.
func (dc directConfig) listenDirect() (net.Listener, []candidate, error) {
	addrs := dc.addrs
	if addrs == nil {
		addrs = localAddrs()
	}
	listen := ":0"
	if len(addrs) > 0 && addrs[0].IsLoopback() {
		listen = netip.AddrPortFrom(addrs[0], 0).String() // tests: stay on loopback
	}
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return nil, nil, fmt.Errorf("listening for a direct connection: %w", err)
	}
	if dc.onListen != nil {
		dc.onListen(ln.Addr())
	}
	port := uint16(ln.Addr().(*net.TCPAddr).Port)
	var out []candidate
	if dc.observed.IsValid() && dc.relayLocal.IsValid() {
		out = append(out, candidate{kindReflexive, dc.observed})
	}
	for _, a := range addrs {
		if len(out) < maxCandidates {
			out = append(out, candidate{kindLocal, netip.AddrPortFrom(a, port)})
		}
	}
	return ln, out, nil
}

// isLoopback says whether conn runs over the loopback interface.
func isLoopback(conn net.Conn) bool {
	ap, err := netip.ParseAddrPort(conn.RemoteAddr().String())
	return err == nil && ap.Addr().Unmap().IsLoopback()
}

// addrPort is a connection end as a netip.AddrPort (invalid if it is not IP).
func addrPort(a net.Addr) netip.AddrPort {
	ap, _ := netip.ParseAddrPort(a.String())
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
}

// exchangeCandidates tells the peer where this side can be reached and
// learns where it can, inside the secure channel over the relay.
func exchangeCandidates(ctx context.Context, relayConn net.Conn, ch *secure.Conn, own candidates) (candidates, error) {
	if err := ch.WriteRecord(recCandidates, encodeCandidates(own)); err != nil {
		return candidates{}, err
	}
	typ, p, err := readWithin(ctx, relayConn, ch, decisionTimeout)
	if err != nil {
		return candidates{}, err
	}
	if typ != recCandidates {
		return candidates{}, fmt.Errorf("%w: record %d where the direct addresses were expected", errBadCandidates, typ)
	}
	return decodeCandidates(p)
}

// readWithin reads one record from ch with a deadline on its transport.
func readWithin(ctx context.Context, conn net.Conn, ch *secure.Conn, d time.Duration) (byte, []byte, error) {
	deadline := time.Now().Add(d)
	if dl, ok := ctx.Deadline(); ok && dl.Before(deadline) {
		deadline = dl
	}
	conn.SetReadDeadline(deadline)
	defer conn.SetReadDeadline(time.Time{})
	defer wake.OnDone(ctx, conn.SetReadDeadline)()
	typ, p, err := ch.ReadRecord()
	if err != nil && ctx.Err() != nil {
		return 0, nil, ctx.Err()
	}
	return typ, p, err
}

// prepare listens, swaps candidates with the peer and says which of the
// peer's to try. ln is nil when there is nothing to try: the peers share a
// machine (both reach the relay over loopback, so its path is as short as
// any, and a hostile peer's claim to share it only keeps the transfer on
// the relay), or this side cannot listen.
func (dc directConfig) prepare(ctx context.Context, relayConn net.Conn, relayCh *secure.Conn) (ln net.Listener, try []candidate, err error) {
	own := candidates{relayLoopback: isLoopback(relayConn) && !dc.loopbackOK}
	ln, own.addrs, err = dc.listenDirect()
	if err != nil {
		dc.logger.Warn("direct: " + err.Error())
	}
	peer, err := exchangeCandidates(ctx, relayConn, relayCh, own)
	if err != nil || (own.relayLoopback && peer.relayLoopback) || ln == nil {
		if ln != nil {
			ln.Close()
		}
		return nil, nil, err
	}
	return ln, dialable(peer.addrs, dc.loopbackOK), nil
}

// prober opens and proves direct connections until it is stopped or its
// time is up. On the receiver, a proven connection is ready only once the
// sender marked it as the one to use.
type prober struct {
	ctx    context.Context
	cancel context.CancelFunc
	ln     net.Listener
	relay  *secure.Conn
	dc     directConfig
	ready  chan proven
	wg     sync.WaitGroup
	slots  chan struct{}
}

// startProbing listens on ln and tries every candidate at once, for at most
// the window and the late window.
func startProbing(ctx context.Context, ln net.Listener, relayCh *secure.Conn, peers []candidate, dc directConfig) *prober {
	ctx, cancel := context.WithTimeout(ctx, dc.window+dc.late)
	p := &prober{ctx: ctx, cancel: cancel, ln: ln, relay: relayCh, dc: dc,
		ready: make(chan proven, maxPendingDirect+maxCandidates), slots: make(chan struct{}, maxPendingDirect)}
	context.AfterFunc(ctx, func() { ln.Close() })
	p.wg.Go(p.acceptLoop)
	for _, c := range peers {
		switch {
		case c.kind == kindLocal:
			p.wg.Go(func() { p.dial(c.addr) })
		case dc.relayLocal.IsValid():
			p.wg.Go(func() { p.punch(c.addr) })
		}
	}
	return p
}

func (p *prober) acceptLoop() {
	for {
		conn, err := p.ln.Accept()
		if err != nil {
			return // closed when probing stops
		}
		select {
		case p.slots <- struct{}{}:
		default:
			p.dc.logger.Warn("direct: refused a connection: too many being checked", "from", conn.RemoteAddr().String())
			conn.Close()
			continue
		}
		p.wg.Go(func() {
			defer func() { <-p.slots }()
			p.prove(conn, false, kindLocal)
		})
	}
}

func (p *prober) dial(addr netip.AddrPort) {
	var d net.Dialer
	conn, err := d.DialContext(p.ctx, "tcp", addr.String())
	if err != nil {
		if p.ctx.Err() == nil {
			p.dc.logger.Debug("direct: could not connect", "to", addr.String(), "err", err)
		}
		return
	}
	p.prove(conn, true, kindLocal)
}

// punch opens a connection to the peer's NAT mapping from this side's
// relay port, again and again, while the peer does the same towards ours:
// once both SYNs have left, each NAT sees the other's as an answer.
func (p *prober) punch(addr netip.AddrPort) {
	d := net.Dialer{LocalAddr: net.TCPAddrFromAddrPort(p.dc.relayLocal), Control: reusePort, Timeout: time.Second}
	for tries := 1; ; tries++ {
		conn, err := d.DialContext(p.ctx, "tcp", addr.String())
		if err == nil {
			p.dc.logger.Debug("direct: punched through", "to", addr.String(), "tries", tries)
			// Both sides dialled: the sender speaks first.
			p.prove(conn, p.dc.role == secure.Sender, kindReflexive)
			return
		}
		t := time.NewTimer(punchEvery)
		select {
		case <-p.ctx.Done():
			t.Stop()
			p.dc.logger.Debug("direct: no way through", "to", addr.String(), "tries", tries, "err", err)
			return
		case <-t.C:
		}
	}
}

// prove runs the direct handshake on conn; a stranger's connection is
// logged and closed, and costs the session nothing.
func (p *prober) prove(conn net.Conn, dialer bool, kind byte) {
	ctx, cancel := context.WithTimeout(p.ctx, directHandshakeTimeout)
	defer cancel()
	ch, err := p.relay.DirectHandshake(ctx, conn, dialer)
	if err != nil {
		conn.Close()
		if errors.Is(err, secure.ErrNotPeer) || (!dialer && p.ctx.Err() == nil) {
			p.dc.logger.Warn("direct: closed a connection that did not prove it is the peer", "from", conn.RemoteAddr().String(), "err", err)
		}
		return
	}
	if p.dc.role == secure.Receiver {
		// Wait for the sender's mark: it may choose another connection.
		typ, _, err := readWithin(p.ctx, conn, ch, p.dc.window+p.dc.late)
		if err != nil || typ != recSelected {
			conn.Close()
			return
		}
	}
	select {
	case p.ready <- proven{ch, conn, conn.RemoteAddr().String(), kind}:
	case <-p.ctx.Done():
		conn.Close()
	}
}

// stop ends probing and closes every proven connection but keep.
func (p *prober) stop(keep net.Conn) {
	p.cancel()
	p.wg.Wait()
	for {
		select {
		case pr := <-p.ready:
			if pr.conn != keep {
				pr.conn.Close()
			}
		default:
			return
		}
	}
}

// chooseSenderPath: the sender takes the first direct connection proven
// within the window after learning the receiver's addresses, marks it, and
// tells the receiver over the relay; else it tells the receiver the
// transfer starts on the relay, and probing goes on for the late window.
func chooseSenderPath(ctx context.Context, relayConn net.Conn, relayCh *secure.Conn, dc directConfig) (path, error) {
	onRelay := path{ch: relayCh, conn: relayConn}
	stay := func(late *prober) (path, error) {
		onRelay.late = late
		if err := relayCh.WriteRecord(recPath, []byte{pathRelay}); err != nil {
			if late != nil {
				late.stop(nil)
			}
			return path{}, err
		}
		return onRelay, nil
	}
	ln, peers, err := dc.prepare(ctx, relayConn, relayCh)
	if err != nil {
		return path{}, err
	}
	if ln == nil {
		return stay(nil)
	}
	p := startProbing(ctx, ln, relayCh, peers, dc)
	timer := time.NewTimer(dc.window)
	defer timer.Stop()
	select {
	case pr := <-p.ready:
		p.stop(pr.conn)
		if err := pr.ch.WriteRecord(recSelected, nil); err != nil {
			pr.conn.Close()
			dc.logger.Warn("direct: the chosen connection broke", "err", err)
			return stay(nil)
		}
		if err := relayCh.WriteRecord(recPath, []byte{pathDirect}); err != nil {
			pr.conn.Close()
			return path{}, err
		}
		return path{ch: pr.ch, conn: pr.conn, direct: true, peer: pr.peer, kind: pr.kind}, nil
	case <-timer.C:
		dc.logger.Debug("direct: none within the window; starting on the relay", "window", dc.window)
		return stay(p)
	case <-ctx.Done():
		p.stop(nil)
		return path{}, ctx.Err()
	}
}

// decision is the sender's choice of path as the receiver read it.
type decision struct {
	typ byte
	b   []byte
	err error
}

func (d decision) check() (direct bool, err error) {
	if d.err != nil {
		return false, d.err
	}
	if d.typ != recPath || len(d.b) != 1 || d.b[0] > pathDirect {
		return false, fmt.Errorf("%w: record %d where the sender's choice of path was expected", errBadCandidates, d.typ)
	}
	return d.b[0] == pathDirect, nil
}

// chooseReceiverPath: the receiver offers its addresses, probes alongside
// the sender, and follows the sender's choice; when that is the relay,
// probing goes on for the late window.
func chooseReceiverPath(ctx context.Context, relayConn net.Conn, relayCh *secure.Conn, dc directConfig) (path, error) {
	onRelay := path{ch: relayCh, conn: relayConn}
	ln, peers, err := dc.prepare(ctx, relayConn, relayCh)
	if err != nil {
		return path{}, err
	}
	if ln == nil {
		ln = closedListener{} // the sender's choice still comes
	}
	p := startProbing(ctx, ln, relayCh, peers, dc)
	typ, b, err := readWithin(ctx, relayConn, relayCh, decisionTimeout)
	direct, err := decision{typ, b, err}.check()
	if err != nil {
		p.stop(nil)
		return path{}, err
	}
	if !direct {
		onRelay.late = p
		return onRelay, nil
	}
	timer := time.NewTimer(decisionTimeout)
	defer timer.Stop()
	select {
	case pr := <-p.ready:
		p.stop(pr.conn)
		return path{ch: pr.ch, conn: pr.conn, direct: true, peer: pr.peer, kind: pr.kind}, nil
	case <-timer.C:
		p.stop(nil)
		return path{}, errors.New("the sender chose a direct connection that never reached this side")
	case <-ctx.Done():
		p.stop(nil)
		return path{}, ctx.Err()
	}
}

// closedListener stands in when this side could not listen.
type closedListener struct{}

func (closedListener) Accept() (net.Conn, error) { return nil, net.ErrClosed }
func (closedListener) Close() error              { return nil }
func (closedListener) Addr() net.Addr            { return &net.TCPAddr{} }
