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

	"github.com/bob-p2p/bob/transfer/secure"
)

// featureDirect is offered in the handshake by a side that takes part in
// choosing a direct path; both must offer it.
const featureDirect = "direct1"

// DefaultDirectWindow is how long the sender waits for a direct connection
// once it knows the receiver's addresses, before it settles for the relay.
const DefaultDirectWindow = time.Second

// directHandshakeTimeout bounds one direct connection's handshake: a
// stranger that connects and stalls holds nothing for longer.
const directHandshakeTimeout = 3 * time.Second

// maxPendingDirect bounds the direct connections being proven at once, so
// that strangers cannot exhaust our descriptors.
const maxPendingDirect = 8

// decisionTimeout bounds how long the receiver waits for the sender's
// choice of path, and for the chosen direct connection's mark after it.
const decisionTimeout = 15 * time.Second

// path is what carries the transfer.
type path struct {
	ch     *secure.Conn
	conn   net.Conn // ch's transport
	direct bool
	peer   string // the peer's address, when direct
}

// proven is a direct connection whose handshake succeeded.
type proven struct {
	ch   *secure.Conn
	conn net.Conn
	peer string
}

// prober opens and proves direct connections until it is stopped.
type prober struct {
	ctx    context.Context
	cancel context.CancelFunc
	ln     net.Listener
	relay  *secure.Conn
	logger *slog.Logger
	ready  chan proven
	wg     sync.WaitGroup
	slots  chan struct{}
}

// directConfig is how one side takes part in choosing a direct path.
type directConfig struct {
	window time.Duration // sender: how long to wait for a direct path
	logger *slog.Logger
	// addrs are this side's candidate addresses; nil means LocalAddrs.
	addrs []netip.Addr
	// loopbackOK lets tests on one machine dial loopback candidates.
	loopbackOK bool
	onListen   func(net.Addr) // tests: where this side listens
}

// listenDirect opens the listener of this session's direct connections and
// returns the candidates that lead to it.
func (dc directConfig) listenDirect() (net.Listener, []netip.AddrPort, error) {
	addrs := dc.addrs
	if addrs == nil {
		addrs = LocalAddrs()
	}
	network, listen := "tcp", ":0"
	if len(addrs) > 0 && addrs[0].IsLoopback() {
		listen = netip.AddrPortFrom(addrs[0], 0).String() // tests: stay on loopback
	}
	ln, err := net.Listen(network, listen)
	if err != nil {
		return nil, nil, fmt.Errorf("listening for a direct connection: %w", err)
	}
	if dc.onListen != nil {
		dc.onListen(ln.Addr())
	}
	port := uint16(ln.Addr().(*net.TCPAddr).Port)
	var out []netip.AddrPort
	for _, a := range addrs {
		if len(out) < maxCandidates {
			out = append(out, netip.AddrPortFrom(a, port))
		}
	}
	return ln, out, nil
}

// isLoopback says whether conn runs over the loopback interface.
func isLoopback(conn net.Conn) bool {
	ap, err := netip.ParseAddrPort(conn.RemoteAddr().String())
	return err == nil && ap.Addr().Unmap().IsLoopback()
}

// exchangeCandidates tells the peer where this side listens and learns
// where it does, inside the secure channel over the relay.
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

// prepare listens, swaps candidates with the peer and says which of the
// peer's to dial. ln is nil when there is nothing to probe: the peers share
// a machine (both reach the relay over loopback, so its path is as short as
// any and a hostile peer's claim to share it only keeps the transfer on the
// relay), or this side cannot listen.
func (dc directConfig) prepare(ctx context.Context, relayConn net.Conn, relayCh *secure.Conn) (ln net.Listener, dial []netip.AddrPort, err error) {
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

// readWithin reads one record from ch with a deadline on its transport.
func readWithin(ctx context.Context, conn net.Conn, ch *secure.Conn, d time.Duration) (byte, []byte, error) {
	deadline := time.Now().Add(d)
	if dl, ok := ctx.Deadline(); ok && dl.Before(deadline) {
		deadline = dl
	}
	conn.SetReadDeadline(deadline)
	defer conn.SetReadDeadline(time.Time{})
	stop := context.AfterFunc(ctx, func() { conn.SetReadDeadline(time.Unix(1, 0)) })
	defer stop()
	typ, p, err := ch.ReadRecord()
	if err != nil && ctx.Err() != nil {
		return 0, nil, ctx.Err()
	}
	return typ, p, err
}

// startProbing listens on ln and dials every candidate at once; each
// connection whose direct handshake succeeds is sent on p.ready.
func startProbing(ctx context.Context, ln net.Listener, relayCh *secure.Conn, peers []netip.AddrPort, logger *slog.Logger) *prober {
	ctx, cancel := context.WithCancel(ctx)
	p := &prober{ctx: ctx, cancel: cancel, ln: ln, relay: relayCh, logger: logger,
		ready: make(chan proven, maxPendingDirect+maxCandidates), slots: make(chan struct{}, maxPendingDirect)}
	context.AfterFunc(ctx, func() { ln.Close() })
	p.wg.Go(p.acceptLoop)
	for _, addr := range peers {
		p.wg.Go(func() { p.dial(addr) })
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
			p.logger.Warn("direct: refused a connection: too many being checked", "from", conn.RemoteAddr().String())
			conn.Close()
			continue
		}
		p.wg.Go(func() {
			defer func() { <-p.slots }()
			p.prove(conn, false)
		})
	}
}

func (p *prober) dial(addr netip.AddrPort) {
	var d net.Dialer
	conn, err := d.DialContext(p.ctx, "tcp", addr.String())
	if err != nil {
		if p.ctx.Err() == nil {
			p.logger.Debug("direct: could not connect", "to", addr.String(), "err", err)
		}
		return
	}
	p.prove(conn, true)
}

// prove runs the direct handshake on conn; a stranger's connection is
// logged and closed, and costs the session nothing.
func (p *prober) prove(conn net.Conn, dialer bool) {
	ctx, cancel := context.WithTimeout(p.ctx, directHandshakeTimeout)
	defer cancel()
	ch, err := p.relay.DirectHandshake(ctx, conn, dialer)
	if err != nil {
		conn.Close()
		if errors.Is(err, secure.ErrNotPeer) || (!dialer && p.ctx.Err() == nil) {
			p.logger.Warn("direct: closed a connection that did not prove it is the peer", "from", conn.RemoteAddr().String(), "err", err)
		}
		return
	}
	select {
	case p.ready <- proven{ch, conn, conn.RemoteAddr().String()}:
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
// tells the receiver over the relay; else it tells the receiver to stay.
func chooseSenderPath(ctx context.Context, relayConn net.Conn, relayCh *secure.Conn, dc directConfig) (path, error) {
	onRelay := path{ch: relayCh, conn: relayConn}
	stay := func() (path, error) { return onRelay, relayCh.WriteRecord(recPath, []byte{pathRelay}) }
	ln, peers, err := dc.prepare(ctx, relayConn, relayCh)
	if err != nil {
		return path{}, err
	}
	if ln == nil {
		return stay()
	}
	p := startProbing(ctx, ln, relayCh, peers, dc.logger)
	timer := time.NewTimer(dc.window)
	defer timer.Stop()
	select {
	case pr := <-p.ready:
		p.stop(pr.conn)
		if err := pr.ch.WriteRecord(recSelected, nil); err != nil {
			pr.conn.Close()
			dc.logger.Warn("direct: the chosen connection broke", "err", err)
			return stay()
		}
		if err := relayCh.WriteRecord(recPath, []byte{pathDirect}); err != nil {
			pr.conn.Close()
			return path{}, err
		}
		return path{ch: pr.ch, conn: pr.conn, direct: true, peer: pr.peer}, nil
	case <-timer.C:
		p.stop(nil)
		dc.logger.Debug("direct: no direct connection within the window", "window", dc.window)
		return stay()
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
// the sender, and follows the sender's choice.
func chooseReceiverPath(ctx context.Context, relayConn net.Conn, relayCh *secure.Conn, dc directConfig) (path, error) {
	onRelay := path{ch: relayCh, conn: relayConn}
	ln, peers, err := dc.prepare(ctx, relayConn, relayCh)
	if err != nil {
		return path{}, err
	}
	if ln == nil {
		ln = closedListener{} // the sender's choice still comes
	}
	p := startProbing(ctx, ln, relayCh, peers, dc.logger)

	decided := make(chan decision, 1)
	go func() {
		typ, b, err := readWithin(ctx, relayConn, relayCh, decisionTimeout)
		decided <- decision{typ, append([]byte(nil), b...), err}
	}()
	var got *decision
	// Proven connections wait for the sender's mark, each in its own
	// goroutine; the first marked one carries the transfer.
	marked := make(chan proven, 1)
	var markers sync.WaitGroup
	var pending []proven
	finish := func(keep net.Conn) {
		p.stop(keep)
		for _, pr := range pending {
			if pr.conn != keep {
				pr.conn.Close()
			}
		}
		markers.Wait()
		if got == nil {
			relayConn.SetReadDeadline(time.Unix(1, 0))
			<-decided
		}
	}
	deadline := time.NewTimer(2 * decisionTimeout)
	defer deadline.Stop()
	for {
		select {
		case pr := <-p.ready:
			pending = append(pending, pr)
			markers.Go(func() {
				typ, _, err := readWithin(p.ctx, pr.conn, pr.ch, decisionTimeout)
				if err == nil && typ == recSelected {
					select {
					case marked <- pr:
						return
					default:
					}
				}
				pr.conn.Close()
			})
		case d := <-decided:
			got = &d
			direct, err := d.check()
			if err != nil || !direct {
				finish(nil)
				if err != nil {
					return path{}, err
				}
				return onRelay, nil
			}
			// Direct: the marked connection follows.
		case pr := <-marked:
			if got == nil {
				// The mark came first: the choice over the relay follows.
				d := <-decided
				got = &d
			}
			if direct, err := got.check(); err != nil || !direct {
				finish(nil)
				pr.conn.Close()
				return path{}, fmt.Errorf("the sender marked a direct connection but chose the relay (%v)", err)
			}
			finish(pr.conn)
			return path{ch: pr.ch, conn: pr.conn, direct: true, peer: pr.peer}, nil
		case <-deadline.C:
			finish(nil)
			return path{}, errors.New("the sender did not say which path the data takes")
		case <-ctx.Done():
			finish(nil)
			return path{}, ctx.Err()
		}
	}
}

// closedListener stands in when this side could not listen.
type closedListener struct{}

func (closedListener) Accept() (net.Conn, error) { return nil, net.ErrClosed }
func (closedListener) Close() error              { return nil }
func (closedListener) Addr() net.Addr            { return &net.TCPAddr{} }
