package relay

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/time/rate"

	"github.com/bob-p2p/bob/internal/wake"
	"github.com/bob-p2p/bob/relay/rendezvous"
)

// maxRejecting caps the connections being told why they are refused at
// once; past it a refused connection is closed without a reply, so a flood
// costs no more than this many goroutines.
const maxRejecting = 256

// rejectTimeout bounds how long a refused client may take to send the hello
// it is answered after.
const rejectTimeout = time.Second

// Server is a bob relay. Create it with [New]; it holds no global state.
type Server struct {
	cfg      Config
	maxConns int // MaxConns, lowered to fit the descriptor budget; <= 0 is no cap
	fdLimit  int // the descriptor limit maxConns was derived from, or 0
	log      *slog.Logger
	reg      *prometheus.Registry
	m        *metrics
	passSum  [32]byte
	serving  atomic.Bool
	wg       sync.WaitGroup // every goroutine serving a connection

	mu        sync.Mutex
	conns     map[*conn]struct{} // every open connection
	active    int                // accepted connections (refused ones excluded)
	rejecting int                // refused connections being answered
	waiting   int                // senders waiting for a receiver
	addrs     *addrLimits
	waitRate  *rate.Limiter // new waiting senders, relay-wide; nil: no limit
	plates    plates
	closing   bool
}

type phase uint8

const (
	inHello phase = iota
	inWait
	inForward
	inReject
)

// conn is one client connection and its bookkeeping.
type conn struct {
	raw     net.Conn
	s       *Server
	ip      netip.Addr // where it comes from
	counted bool       // counted in active and in s.addrs
	phase   phase      // guarded by s.mu
	once    sync.Once

	fromNode bool           // forwarded by another cluster node: never forwarded again
	seenAt   netip.AddrPort // for fromNode: where that node saw the client
}

// observed is where the client connected from, as its paired reply tells
// it: for a receiver forwarded by another node, where that node saw it.
func (c *conn) observed() netip.AddrPort {
	if c.fromNode {
		return c.seenAt
	}
	ap, _ := netip.ParseAddrPort(c.raw.RemoteAddr().String())
	return ap
}

// close closes the connection and forgets it; it is safe to call many times
// from any goroutine.
func (c *conn) close() {
	c.once.Do(func() {
		c.raw.Close() //nolint:errcheck // nothing to do about a failed close
		c.s.forget(c)
	})
}

// New returns a relay with cfg's limits (zero fields take defaults).
func New(cfg Config) *Server {
	cfg = cfg.withDefaults()
	reg := prometheus.NewRegistry()
	s := &Server{
		cfg:   cfg,
		log:   cfg.Logger,
		reg:   reg,
		m:     newMetrics(reg),
		conns: make(map[*conn]struct{}),
		addrs: newAddrLimits(cfg),
	}
	if cfg.WaitingRate > 0 && cfg.WaitingRate != rate.Inf && cfg.WaitingBurst > 0 {
		s.waitRate = rate.NewLimiter(cfg.WaitingRate, cfg.WaitingBurst)
	}
	s.maxConns, s.fdLimit = cfg.MaxConns, cfg.MaxFDs
	if s.fdLimit == 0 {
		s.fdLimit = int(min(fdLimit(), 1<<30))
	}
	if s.fdLimit > 0 {
		s.maxConns = connCap(cfg.MaxConns, s.fdLimit, max(openFDs(), 0))
	}
	s.plates.init()
	if col, ok := cfg.Cluster.(prometheus.Collector); ok {
		reg.MustRegister(col) // the cluster's own metrics
	}
	if cfg.Password != "" {
		s.passSum = sha256.Sum256([]byte(cfg.Password))
	}
	return s
}

// Serve accepts connections on ln until ctx ends, then shuts down
// gracefully: it stops accepting, drops connections that are not paired,
// lets pairs go on for Config.ShutdownGrace, and cuts what is left. It
// closes ln, and returns once every connection is closed and every goroutine
// it started has ended: nil after ctx ended, else the error that stopped it.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	if !s.serving.CompareAndSwap(false, true) {
		return errors.New("relay: Serve called twice on one server")
	}
	stop := context.AfterFunc(ctx, func() { ln.Close() }) //nolint:errcheck // Accept reports it
	defer stop()
	s.log.Info("relay listening", "addr", ln.Addr().String(), "max_conns", s.maxConns, "fd_limit", s.fdLimit)
	if s.maxConns < s.cfg.MaxConns || (s.cfg.MaxConns <= 0 && s.maxConns > 0) {
		s.log.Warn("the open-file limit lowers the connection cap: raise it (LimitNOFILE, ulimit -n) to serve more",
			"max_conns", s.maxConns, "configured", s.cfg.MaxConns, "fd_limit", s.fdLimit, "fds_per_conn", fdsPerConn)
	}
	err := s.acceptLoop(ctx, ln)
	ln.Close() //nolint:errcheck // already closed when ctx ended
	s.shutdown()
	if ctx.Err() != nil {
		return nil
	}
	return err
}

func (s *Server) acceptLoop(ctx context.Context, ln net.Listener) error {
	var backoff time.Duration
	for {
		nc, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return err
			}
			// Out of file descriptors and the like: wait and retry rather
			// than spin or die.
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			s.log.Warn("accepting a connection failed; retrying", "err", err, "in", backoff)
			select {
			case <-time.After(backoff):
			case <-ctx.Done():
				return err
			}
			continue
		}
		backoff = 0
		s.admit(nc)
	}
}

// admit decides whether to serve nc and starts the goroutine that does.
func (s *Server) admit(nc net.Conn) {
	c := &conn{raw: nc, s: s, ip: remoteIP(nc.RemoteAddr())}
	now := time.Now()
	s.mu.Lock()
	reason, code := s.admitLocked(c, now)
	if reason != "" {
		if s.rejecting >= maxRejecting {
			s.mu.Unlock()
			s.m.rejected.WithLabelValues(reason).Inc()
			nc.Close() //nolint:errcheck // refused without a reply
			return
		}
		s.rejecting++
		c.phase = inReject
	}
	s.conns[c] = struct{}{}
	s.wg.Add(1)
	s.mu.Unlock()
	s.m.connections.Inc()
	if reason != "" {
		go s.reject(c, code, reason)
		return
	}
	go s.handle(c)
}

// admitLocked applies the connection limits, and on success counts c.
func (s *Server) admitLocked(c *conn, now time.Time) (reason string, code rendezvous.Code) {
	if s.maxConns > 0 && s.active >= s.maxConns {
		return reasonFull, rendezvous.CodeRelayFull
	}
	if reason := s.addrs.admit(c.ip, now); reason != "" {
		return reason, rendezvous.CodeRateLimited
	}
	s.active++
	c.counted = true
	return "", 0
}

// fdReserve is what the descriptor budget keeps for everything but the
// relayed connections: listeners, the metrics server's clients, logs.
const fdReserve = 64

// connCap is the connection cap that fits in limit descriptors with inUse
// already open: every accepted connection may come to cost fdsPerConn once
// paired, and refused ones being answered cost one each. Without it the
// relay failed accept with EMFILE instead of replying "relay full".
func connCap(maxConns, limit, inUse int) int {
	budget := limit - inUse - maxRejecting - fdReserve
	c := max(budget/fdsPerConn, 1)
	if maxConns > 0 && maxConns < c {
		return maxConns
	}
	return c
}

// MaxConns returns the connection cap in force: Config.MaxConns, lowered
// to what the descriptor limit allows (0 or less: no cap).
func (s *Server) MaxConns() int { return s.maxConns }

// forget removes a closed connection from the books.
func (s *Server) forget(c *conn) {
	s.mu.Lock()
	delete(s.conns, c)
	if c.counted {
		s.active--
		s.addrs.release(c.ip, time.Now())
	}
	if c.phase == inReject {
		s.rejecting--
	}
	s.mu.Unlock()
	s.m.connections.Dec()
}

// reject answers a refused client once its hello is in, and closes it.
func (s *Server) reject(c *conn, code rendezvous.Code, reason string) {
	defer s.wg.Done()
	defer c.close()
	s.m.rejected.WithLabelValues(reason).Inc()
	s.log.Debug("connection refused", "remote", c.raw.RemoteAddr().String(), "reason", reason)
	// Reading the hello first means the reply is not lost to a reset caused
	// by unread data at close.
	c.raw.SetDeadline(time.Now().Add(min(rejectTimeout, s.cfg.HelloTimeout))) //nolint:errcheck // a failed deadline fails the read
	if _, err := rendezvous.ReadHello(c.raw); err != nil &&
		!errors.Is(err, rendezvous.ErrVersion) && !errors.Is(err, rendezvous.ErrMalformed) {
		return
	}
	c.raw.Write(rendezvous.AppendError(nil, code)) //nolint:errcheck // closing anyway
}

// refuse answers an accepted client with an error and closes it.
func (s *Server) refuse(c *conn, code rendezvous.Code, reason string) {
	s.m.rejected.WithLabelValues(reason).Inc()
	s.log.Debug("request refused", "remote", c.raw.RemoteAddr().String(), "reason", reason)
	c.raw.SetWriteDeadline(time.Now().Add(s.cfg.HelloTimeout)) //nolint:errcheck // a failed deadline fails the write
	c.raw.Write(rendezvous.AppendError(nil, code))             //nolint:errcheck // closing anyway
	c.close()
}

// handle reads a client's hello and serves it.
func (s *Server) handle(c *conn) {
	defer s.wg.Done()
	c.raw.SetReadDeadline(time.Now().Add(s.cfg.HelloTimeout)) //nolint:errcheck // a failed deadline fails the read
	h, err := rendezvous.ReadHello(c.raw)
	if err != nil {
		switch {
		case errors.Is(err, rendezvous.ErrVersion):
			s.refuse(c, rendezvous.CodeVersion, reasonVersion)
		case errors.Is(err, rendezvous.ErrMalformed):
			s.refuse(c, rendezvous.CodeBadRequest, reasonBadHello)
		case errors.Is(err, os.ErrDeadlineExceeded):
			s.m.timeouts.WithLabelValues(phaseHello).Inc()
			s.log.Debug("no hello in time", "remote", c.raw.RemoteAddr().String())
		default:
			s.log.Debug("client left before its hello", "remote", c.raw.RemoteAddr().String(), "err", err)
		}
		c.close()
		return
	}
	if s.cfg.Password != "" {
		got := sha256.Sum256([]byte(h.Password))
		if subtle.ConstantTimeCompare(got[:], s.passSum[:]) != 1 {
			s.refuse(c, rendezvous.CodeBadPassword, reasonBadPassword)
			return
		}
	}
	switch h.Role {
	case rendezvous.RoleSend:
		s.serveSender(c, h.Nameplate)
	case rendezvous.RoleReceive:
		s.serveReceiver(c, h.Nameplate)
	}
}

// waiter is an open nameplate: its sender, and its receiver once claimed.
type waiter struct {
	sender   *conn
	receiver *conn // set once, under s.mu
}

// serveSender opens a nameplate for c, waits for a receiver, and forwards.
func (s *Server) serveSender(c *conn, want string) {
	// Arm the wait before the nameplate can be claimed: a receiver ends the
	// wait by moving this deadline to the past.
	c.raw.SetReadDeadline(time.Now().Add(s.cfg.WaitTimeout)) //nolint:errcheck // a failed deadline fails the read
	w := &waiter{sender: c}
	want, code, reason := s.clusterClaim(want) // cluster: claimed here, released below
	if code != 0 {
		s.refuse(c, code, reason)
		return
	}
	s.mu.Lock()
	nameplate := want
	switch {
	case s.closing:
		code, reason = rendezvous.CodeShuttingDown, reasonShuttingDown
	case s.cfg.MaxWaiting > 0 && s.waiting >= s.cfg.MaxWaiting:
		code, reason = rendezvous.CodeRelayFull, reasonWaitingFull
	case s.waitRate != nil && !s.waitRate.Allow():
		// Waiting senders are what fills a relay; from many addresses at
		// once, only a relay-wide rate slows that down.
		code, reason = rendezvous.CodeRateLimited, reasonWaitingRate
	case want == "":
		nameplate = s.plates.lowestFree(time.Now())
	case s.plates.taken(want, time.Now()):
		code, reason = rendezvous.CodeNameplateTaken, reasonNameplateTaken
	}
	if code == 0 {
		s.plates.take(nameplate, w)
		s.waiting++
		c.phase = inWait
	}
	s.mu.Unlock()
	if code != 0 {
		s.clusterRelease(nameplate)
		s.refuse(c, code, reason)
		return
	}
	s.m.waiting.Inc()
	log := s.log.With("nameplate", nameplate)
	log.Debug("sender waiting", "remote", c.raw.RemoteAddr().String())

	c.raw.SetWriteDeadline(time.Now().Add(s.cfg.HelloTimeout)) //nolint:errcheck // a failed deadline fails the write
	_, werr := c.raw.Write(rendezvous.AppendAssigned(nil, nameplate))
	var n int
	var rerr error
	if werr == nil {
		// The client sends nothing until it is paired, so this read only
		// ends when the sender leaves, the wait times out, or a receiver
		// claims the nameplate.
		var b [1]byte
		n, rerr = c.raw.Read(b[:])
	}

	s.mu.Lock()
	r := w.receiver
	s.waiting--
	closing := s.closing
	woken := werr == nil && n == 0 && errors.Is(rerr, os.ErrDeadlineExceeded)
	pairing := r != nil && woken && !closing
	if pairing {
		c.phase, r.phase = inForward, inForward
	} else {
		s.plates.free(nameplate)
	}
	s.mu.Unlock()
	s.m.waiting.Dec()

	if !pairing {
		s.clusterRelease(nameplate)
		var reply rendezvous.Code
		switch {
		case woken && closing:
			reply = rendezvous.CodeShuttingDown
			log.Debug("sender dropped: shutting down")
		case r != nil:
			log.Debug("sender gone as a receiver arrived", "err", errors.Join(werr, rerr))
		case werr != nil:
			log.Debug("could not tell the sender its nameplate", "err", werr)
		case n > 0:
			log.Debug("sender spoke before being paired; dropped")
		case woken:
			reply = rendezvous.CodeTimedOut
			s.m.timeouts.WithLabelValues(phaseWaiting).Inc()
			log.Debug("no receiver in time")
		default:
			log.Debug("sender left before a receiver came", "err", rerr)
		}
		for _, x := range []*conn{c, r} {
			if x == nil {
				continue
			}
			if reply != 0 {
				x.raw.SetWriteDeadline(time.Now().Add(s.cfg.HelloTimeout)) //nolint:errcheck // a failed deadline fails the write
				x.raw.Write(rendezvous.AppendError(nil, reply))            //nolint:errcheck // closing anyway
			}
			x.close()
		}
		return
	}
	s.pair(log, nameplate, c, r)
}

// serveReceiver claims a nameplate for c and hands c to its sender.
func (s *Server) serveReceiver(c *conn, nameplate string) {
	s.mu.Lock()
	w := s.plates.byName[nameplate]
	var code rendezvous.Code
	var reason string
	var remote bool
	switch {
	case s.closing:
		code, reason = rendezvous.CodeShuttingDown, reasonShuttingDown
	case w == nil && s.cfg.Cluster != nil && !c.fromNode:
		remote = true // its sender may wait on another node
	case w == nil:
		code, reason = rendezvous.CodeUnknownNameplate, reasonUnknownNameplate
	case w.receiver != nil:
		code, reason = rendezvous.CodeAlreadyClaimed, reasonAlreadyClaimed
	default:
		// From here c belongs to the sender's goroutine, which this
		// deadline wakes. Done under the lock so it cannot land after the
		// sender has moved on.
		w.receiver = c
		c.phase = inWait
		w.sender.raw.SetReadDeadline(wake.Past) //nolint:errcheck // a closed sender ends its wait anyway
	}
	s.mu.Unlock()
	if remote {
		s.serveRemoteReceiver(c, nameplate)
		return
	}
	if code != 0 {
		s.refuse(c, code, reason)
	}
}

// pair tells both sides they are paired, forwards between them until both
// are done, then voids the nameplate for the wait timeout: whatever the
// peers did with their one guess, nobody can reopen it for a late receiver.
func (s *Server) pair(log *slog.Logger, nameplate string, a, b *conn) {
	s.m.pairings.Inc()
	s.m.pairs.Inc()
	log.Debug("paired", "sender", a.raw.RemoteAddr().String(), "receiver", b.raw.RemoteAddr().String())
	start := time.Now()
	var err error
	for _, c := range []*conn{a, b} {
		// Each side learns where the relay saw it: its address behind a NAT.
		msg := rendezvous.AppendPaired(nil, c.observed())
		c.raw.SetWriteDeadline(start.Add(s.cfg.HelloTimeout)) //nolint:errcheck // a failed deadline fails the write
		if _, werr := c.raw.Write(msg); werr != nil && err == nil {
			err = werr
		}
	}
	var sent, received int64
	if err == nil {
		sent, received = s.forward(log, a, b)
	} else {
		log.Debug("a side left as it was paired", "err", err)
	}
	a.close()
	b.close()
	s.mu.Lock()
	s.plates.void(nameplate, time.Now().Add(s.cfg.WaitTimeout))
	s.mu.Unlock()
	kind := kindRelayed
	if sent+received < introducedMax {
		kind = kindIntroduced
	}
	// Counted before the pair leaves the gauge, so a reader who sees the
	// gauge drop sees the pair counted.
	s.m.pairsEnded.WithLabelValues(kind).Inc()
	s.clusterVoid(nameplate)
	s.m.pairs.Dec()
	log.Debug("pair ended", "kind", kind, "sent", sent, "received", received, "duration", time.Since(start).Round(time.Millisecond))
}

// shutdown runs once the listener is closed: it drops every connection
// that is not forwarding, waits for pairs up to the grace period, then cuts
// the rest, and returns when all goroutines are done.
func (s *Server) shutdown() {
	s.mu.Lock()
	s.closing = true
	var drop []*conn
	pairs := 0
	for c := range s.conns {
		switch c.phase {
		case inForward:
			pairs++
		case inWait:
			// Wake the waiting goroutine, which tells its client why it
			// goes and closes it.
			c.raw.SetReadDeadline(wake.Past) //nolint:errcheck // a closed conn needs no waking
		default:
			drop = append(drop, c)
		}
	}
	s.mu.Unlock()
	for _, c := range drop {
		c.close()
	}
	done := make(chan struct{})
	go func() {
		s.wg.Wait()
		close(done)
	}()
	if pairs > 0 {
		s.log.Info("shutting down: letting pairs finish", "pairs", pairs/2, "grace", s.cfg.ShutdownGrace)
	}
	timer := time.NewTimer(s.cfg.ShutdownGrace)
	defer timer.Stop()
	select {
	case <-done:
	case <-timer.C:
		s.mu.Lock()
		drop = drop[:0]
		for c := range s.conns {
			drop = append(drop, c)
		}
		s.mu.Unlock()
		s.log.Info("shutdown grace over: cutting pairs", "connections", len(drop))
		for _, c := range drop {
			c.close()
		}
		<-done
	}
	s.log.Info("relay stopped")
}
