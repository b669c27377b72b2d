// Package cluster lets several bob relays act as one: their nameplates live
// in one NATS JetStream key-value bucket, and a receiver that reaches a node
// other than its sender's is forwarded one hop to the node that holds it.
//
// A nameplate is claimed with an atomic KV create whose value is the owning
// node's address and whose per-key TTL is the relay's wait timeout: if the
// node dies its nameplates expire by themselves. While a node lives it
// renews the keys it holds (a compare-and-set that restarts the TTL), so a
// pair may outlast the wait timeout. It deletes a key when its sender
// leaves unpaired; a key whose pair has ended gets one last TTL and
// expires, so the nameplate stays void cluster-wide for the wait timeout. The code space stays small: a node picks the lowest number its
// view of the bucket (a KV watch) shows free, and the create settles races.
//
// NATS is the only shared state and the only consensus; the relay links to
// its client alone. When NATS cannot be reached, pairs already made go on,
// new senders and forwarded receivers are refused with "cluster
// unavailable", and the client reconnects by itself.
package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/bob-p2p/bob/relay/rendezvous"
)

// Config is how a node joins a cluster.
type Config struct {
	// URLs are the NATS servers, comma-separated (nats://host:4222,...).
	URLs string
	// CredsFile is a NATS credentials file (JWT and NKey), or empty.
	CredsFile string
	// Token is a NATS authentication token, or empty.
	Token string
	// NodeAddr is the host:port other nodes dial to forward receivers here.
	NodeAddr string
	// Secret authenticates nodes to each other; at least MinSecretLen bytes.
	Secret []byte
	// TTL is how long a claimed nameplate lives unless renewed: the
	// relay's wait timeout. At least a second.
	TTL time.Duration
	// Bucket is the KV bucket's name; "bob-nameplates" if empty.
	Bucket string
	// Replicas is how many NATS servers keep the bucket; 3 if zero.
	Replicas int
	// OpTimeout bounds one NATS request, and a claim (which may try
	// several numbers) in all; 5 s if zero.
	OpTimeout time.Duration
	// Logger receives the cluster's logs; nil discards them.
	Logger *slog.Logger
}

// maxPickTries bounds how many taken numbers one claim may run into before
// it gives up; the watch keeps this rare.
const maxPickTries = 64

// Cluster is one node's membership. Create it with [New]; it implements
// relay.Cluster and prometheus.Collector.
type Cluster struct {
	cfg    Config
	log    *slog.Logger
	nc     *nats.Conn
	js     jetstream.JetStream
	m      *metrics
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup // the renew and watch loops, node handshakes
	reset  chan struct{}  // the connection came back: restart the watch
	openMu sync.Mutex     // held while opening the bucket

	mu      sync.Mutex
	kv      jetstream.KeyValue  // nil until the bucket is reached
	held    map[string]claim    // nameplates this node holds
	pending map[string]struct{} // numbers being claimed by this node now
	seen    map[string]struct{} // nameplates held cluster-wide, as watched
}

// claim is a key this node created: its latest revision and its value,
// which is unique to the claim so that it can be told from a later one.
type claim struct {
	rev   uint64
	value []byte
}

// New connects to NATS and starts the node's background loops. It returns
// without waiting for NATS: until NATS answers, claims are refused as
// cluster unavailable.
func New(cfg Config) (*Cluster, error) {
	if cfg.URLs == "" {
		return nil, errors.New("cluster: no NATS server given")
	}
	if _, _, err := net.SplitHostPort(cfg.NodeAddr); err != nil {
		return nil, fmt.Errorf("cluster: node address %q is not host:port: %w", cfg.NodeAddr, err)
	}
	if len(cfg.Secret) < MinSecretLen {
		return nil, fmt.Errorf("cluster: the cluster secret must be at least %d bytes", MinSecretLen)
	}
	if cfg.TTL < time.Second {
		return nil, errors.New("cluster: nameplates must live at least a second")
	}
	if cfg.Bucket == "" {
		cfg.Bucket = "bob-nameplates"
	}
	if cfg.Replicas == 0 {
		cfg.Replicas = 3
	}
	if cfg.OpTimeout <= 0 {
		cfg.OpTimeout = 5 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	c := &Cluster{
		cfg: cfg, log: cfg.Logger.With("cluster", cfg.NodeAddr), m: newMetrics(),
		ctx: ctx, cancel: cancel, reset: make(chan struct{}, 1),
		held: make(map[string]claim), pending: make(map[string]struct{}), seen: make(map[string]struct{}),
	}
	opts := []nats.Option{
		nats.Name("bob relay " + cfg.NodeAddr),
		nats.MaxReconnects(-1),
		nats.RetryOnFailedConnect(true),
		nats.ReconnectWait(250 * time.Millisecond),
		nats.Timeout(cfg.OpTimeout),
		nats.ConnectHandler(func(nc *nats.Conn) { c.connected(nc, true, nil) }),
		nats.ReconnectHandler(func(nc *nats.Conn) { c.connected(nc, true, nil) }),
		nats.DisconnectErrHandler(func(nc *nats.Conn, err error) { c.connected(nc, false, err) }),
		nats.ClosedHandler(func(*nats.Conn) { c.m.connected.Set(0) }),
	}
	if cfg.CredsFile != "" {
		opts = append(opts, nats.UserCredentials(cfg.CredsFile))
	}
	if cfg.Token != "" {
		opts = append(opts, nats.Token(cfg.Token))
	}
	nc, err := nats.Connect(cfg.URLs, opts...)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("cluster: connecting to NATS: %w", err)
	}
	if nc.IsConnected() {
		c.m.connected.Set(1)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		cancel()
		return nil, fmt.Errorf("cluster: JetStream: %w", err)
	}
	c.nc, c.js = nc, js
	c.wg.Add(2)
	go c.renewLoop()
	go c.watchLoop()
	return c, nil
}

// connected records a change of the NATS connection's state.
// It runs on the client's callback goroutine, which may start before New
// has set c.nc, so it uses the connection it is given.
func (c *Cluster) connected(nc *nats.Conn, up bool, err error) {
	if up {
		c.m.connected.Set(1)
		c.log.Info("cluster connected", "nats", nc.ConnectedUrlRedacted())
		select {
		case c.reset <- struct{}{}:
		default:
		}
		return
	}
	c.m.connected.Set(0)
	c.log.Warn("cluster unavailable: lost NATS; reconnecting", "err", err)
}

// Close stops the node's loops and its NATS connection. Nameplates still
// held expire with their TTL; a relay that shut down gracefully has
// released them all already.
func (c *Cluster) Close() {
	c.cancel()
	c.wg.Wait()
	c.nc.Close()
}

func unavailable(err error) error {
	return fmt.Errorf("%w: %w", rendezvous.ErrClusterUnavailable, err)
}

var errNoNATS = errors.New("not connected to NATS")

// bucket returns the KV bucket, creating it on first use.
func (c *Cluster) bucket(ctx context.Context) (jetstream.KeyValue, error) {
	if !c.nc.IsConnected() {
		return nil, unavailable(errNoNATS)
	}
	c.mu.Lock()
	kv := c.kv
	c.mu.Unlock()
	if kv != nil {
		return kv, nil
	}
	// One opener at a time: a burst of first claims must not each ask
	// JetStream to create the bucket.
	c.openMu.Lock()
	defer c.openMu.Unlock()
	c.mu.Lock()
	kv = c.kv
	c.mu.Unlock()
	if kv != nil {
		return kv, nil
	}
	kv, err := c.js.KeyValue(ctx, c.cfg.Bucket)
	if errors.Is(err, jetstream.ErrBucketNotFound) {
		kv, err = c.js.CreateKeyValue(ctx, jetstream.KeyValueConfig{
			Bucket:         c.cfg.Bucket,
			Description:    "bob relay nameplates: key nameplate, value the owning node",
			History:        1,
			Replicas:       c.cfg.Replicas,
			Storage:        jetstream.FileStorage,
			LimitMarkerTTL: c.cfg.TTL,
		})
	}
	if err != nil {
		return nil, unavailable(fmt.Errorf("opening the nameplate bucket: %w", err))
	}
	c.mu.Lock()
	c.kv = kv
	c.mu.Unlock()
	return kv, nil
}

// Claim claims want, or the lowest free nameplate as far as this node can
// see when want is empty.
func (c *Cluster) Claim(ctx context.Context, want string) (string, error) {
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, c.cfg.OpTimeout)
	defer cancel()
	kv, err := c.bucket(ctx)
	if err != nil {
		c.m.claims.WithLabelValues(outcomeUnavailable).Inc()
		return "", err
	}
	name := want
	for range maxPickTries {
		if want == "" {
			name = c.pick()
		}
		err = c.create(ctx, kv, name)
		if err == nil {
			c.m.claimSeconds.Observe(time.Since(start).Seconds())
			c.m.claims.WithLabelValues(outcomeClaimed).Inc()
			return name, nil
		}
		if want != "" || !errors.Is(err, rendezvous.ErrNameplateTaken) {
			break
		}
	}
	switch {
	case errors.Is(err, rendezvous.ErrNameplateTaken) && want != "":
		c.m.claims.WithLabelValues(outcomeTaken).Inc()
	case errors.Is(err, rendezvous.ErrNameplateTaken):
		// Every number tried was taken: the watch is far behind.
		err = unavailable(fmt.Errorf("no free nameplate found in %d tries", maxPickTries))
		c.m.claims.WithLabelValues(outcomeUnavailable).Inc()
	default:
		c.m.claims.WithLabelValues(outcomeUnavailable).Inc()
	}
	return "", err
}

// pick returns the lowest positive number that is neither held anywhere
// nor being claimed here, and marks it as being claimed.
func (c *Cluster) pick() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i := 1; ; i++ {
		name := strconv.Itoa(i)
		_, s := c.seen[name]
		_, h := c.held[name]
		_, p := c.pending[name]
		if !s && !h && !p {
			c.pending[name] = struct{}{}
			return name
		}
	}
}

// create creates the key for name, holding this node's address.
func (c *Cluster) create(ctx context.Context, kv jetstream.KeyValue, name string) error {
	value := fmt.Appendf(nil, "%s#%s", c.cfg.NodeAddr, nats.NewInbox()[len(nats.InboxPrefix):])
	rev, err := kv.Create(ctx, name, value, jetstream.KeyTTL(c.cfg.TTL))
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.pending, name)
	switch {
	case err == nil:
		c.held[name] = claim{rev: rev, value: value}
		c.seen[name] = struct{}{}
		return nil
	case errors.Is(err, jetstream.ErrKeyExists), wrongLastSequence(err):
		// The second: the key was deleted and another node created it
		// again between this create's two steps.
		c.seen[name] = struct{}{}
		return fmt.Errorf("%w (nameplate %s)", rendezvous.ErrNameplateTaken, name)
	default:
		return unavailable(fmt.Errorf("claiming nameplate %s: %w", name, err))
	}
}

func wrongLastSequence(err error) bool {
	var apiErr *jetstream.APIError
	return errors.As(err, &apiErr) && (apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence ||
		apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequenceConstant)
}

// owner is the node address in a key's value.
func owner(value []byte) string {
	addr, _, _ := strings.Cut(string(value), "#")
	return addr
}

// Release deletes the key of a nameplate this node holds. If NATS cannot
// be reached the key expires with its TTL instead.
func (c *Cluster) Release(name string) {
	c.mu.Lock()
	cl, ok := c.held[name]
	delete(c.held, name)
	delete(c.seen, name)
	kv := c.kv
	c.mu.Unlock()
	if !ok || kv == nil {
		return
	}
	ctx, cancel := context.WithTimeout(c.ctx, c.cfg.OpTimeout)
	defer cancel()
	err := c.purge(ctx, kv, name, cl)
	if err != nil {
		c.log.Warn("releasing a nameplate failed; it expires by itself", "nameplate", name, "in", c.cfg.TTL, "err", err)
	}
}

// Void stops holding a nameplate whose pair has ended without freeing it:
// its key gets one last full TTL (the relay's wait timeout) and then
// expires, so for that long no node lets anyone open it again. A failed
// guess stays one guess cluster-wide; the guesser cannot reopen the
// nameplate on another node as a fake sender for the real receiver. If NATS
// cannot be reached the key expires with the TTL it has left.
func (c *Cluster) Void(name string) {
	c.mu.Lock()
	cl, ok := c.held[name]
	delete(c.held, name)
	c.mu.Unlock()
	if ok {
		c.renew(name, cl)
	}
}

// purge deletes name's key if it still holds cl; the marker it leaves
// lives a second, so a later create of the key is one round trip.
func (c *Cluster) purge(ctx context.Context, kv jetstream.KeyValue, name string, cl claim) error {
	if !c.nc.IsConnected() {
		return errNoNATS
	}
	err := kv.Purge(ctx, name, jetstream.LastRevision(cl.rev), jetstream.PurgeTTL(time.Second))
	if !errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
		return err
	}
	// A renewal raced this release: purge the renewed key if it is ours.
	e, err := kv.Get(ctx, name)
	if err != nil {
		if errors.Is(err, jetstream.ErrKeyNotFound) || errors.Is(err, jetstream.ErrKeyDeleted) {
			return nil
		}
		return err
	}
	if string(e.Value()) != string(cl.value) {
		return nil // expired and claimed again by someone else
	}
	return kv.Purge(ctx, name, jetstream.LastRevision(e.Revision()), jetstream.PurgeTTL(time.Second))
}

// renewLoop restarts the TTL of every held key twice per TTL, so a pair
// that outlasts the wait timeout keeps its nameplate.
func (c *Cluster) renewLoop() {
	defer c.wg.Done()
	t := time.NewTicker(c.cfg.TTL / 2)
	defer t.Stop()
	for {
		select {
		case <-c.ctx.Done():
			return
		case <-t.C:
		}
		c.mu.Lock()
		snap := make(map[string]claim, len(c.held))
		for k, v := range c.held {
			snap[k] = v
		}
		c.mu.Unlock()
		for name, cl := range snap {
			c.renew(name, cl)
		}
	}
}

func (c *Cluster) renew(name string, cl claim) {
	if !c.nc.IsConnected() {
		return
	}
	ctx, cancel := context.WithTimeout(c.ctx, c.cfg.OpTimeout)
	defer cancel()
	ack, err := c.js.Publish(ctx, "$KV."+c.cfg.Bucket+"."+name, cl.value,
		jetstream.WithExpectLastSequencePerSubject(cl.rev), jetstream.WithMsgTTL(c.cfg.TTL))
	if err != nil {
		c.log.Debug("renewing a nameplate failed", "nameplate", name, "err", err)
		return
	}
	c.mu.Lock()
	if cur, ok := c.held[name]; ok && cur.rev == cl.rev {
		c.held[name] = claim{rev: ack.Sequence, value: cl.value}
	}
	c.mu.Unlock()
}

// watchLoop keeps c.seen in step with the bucket, restarting the watch
// whenever the NATS connection comes back.
func (c *Cluster) watchLoop() {
	defer c.wg.Done()
	for {
		if err := c.watch(); err != nil {
			c.log.Debug("nameplate watch stopped", "err", err)
		}
		select {
		case <-c.ctx.Done():
			return
		case <-c.reset:
		case <-time.After(time.Second):
		}
	}
}

// watch follows the bucket until the connection comes back (the watch may
// have missed changes) or the cluster closes.
func (c *Cluster) watch() error {
	ctx, cancel := context.WithTimeout(c.ctx, c.cfg.OpTimeout)
	kv, err := c.bucket(ctx)
	cancel()
	if err != nil {
		return err
	}
	w, err := kv.WatchAll(c.ctx, jetstream.MetaOnly())
	if err != nil {
		return err
	}
	defer w.Stop() //nolint:errcheck // an unsubscribe that fails has nothing to clean up
	fresh := make(map[string]struct{})
	initial := true
	for {
		select {
		case <-c.ctx.Done():
			return nil
		case <-c.reset:
			return nil
		case e, ok := <-w.Updates():
			if !ok {
				return errors.New("watch ended")
			}
			c.mu.Lock()
			switch {
			case e == nil && initial:
				// The bucket as it was is in: replace the old view.
				initial = false
				c.seen = fresh
			case e == nil:
			case initial && e.Operation() == jetstream.KeyValuePut:
				fresh[e.Key()] = struct{}{}
			case initial:
				delete(fresh, e.Key())
			case e.Operation() == jetstream.KeyValuePut:
				c.seen[e.Key()] = struct{}{}
			default:
				delete(c.seen, e.Key())
			}
			c.mu.Unlock()
		}
	}
}

// DialOwner looks up the node holding nameplate and connects to it as a
// node, passing on where receiver came from: see relay.Cluster.
func (c *Cluster) DialOwner(ctx context.Context, nameplate string, receiver netip.AddrPort) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.OpTimeout)
	defer cancel()
	kv, err := c.bucket(ctx)
	if err != nil {
		return nil, err
	}
	_ = kv // open: the leader's read below needs the bucket to exist
	value, found, err := c.leaderGet(ctx, nameplate)
	switch {
	case err != nil:
		return nil, unavailable(fmt.Errorf("looking up nameplate %s: %w", nameplate, err))
	case !found:
		return nil, rendezvous.ErrUnknownNameplate
	}
	addr := owner(value)
	if addr == c.cfg.NodeAddr {
		// Held here by the books of NATS but not by the relay: a sender
		// that just left, or a claim from before a restart.
		return nil, rendezvous.ErrUnknownNameplate
	}
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, unavailable(fmt.Errorf("reaching node %s: %w", addr, err))
	}
	if err := c.nodeHandshake(ctx, nc, nameplate, receiver); err != nil {
		nc.Close() //nolint:errcheck // failed already
		return nil, unavailable(fmt.Errorf("node %s: %w", addr, err))
	}
	c.m.forwarded.WithLabelValues(directionTo).Inc()
	return nc, nil
}

// leaderGet reads a key from the stream's leader. kv.Get may be answered
// by any replica (direct get) and so lag behind a create made a moment ago
// on another node: a receiver would then be told no sender waits.
func (c *Cluster) leaderGet(ctx context.Context, name string) (value []byte, found bool, err error) {
	req, err := json.Marshal(map[string]string{"last_by_subj": "$KV." + c.cfg.Bucket + "." + name})
	if err != nil {
		return nil, false, err
	}
	msg, err := c.nc.RequestWithContext(ctx, "$JS.API.STREAM.MSG.GET.KV_"+c.cfg.Bucket, req)
	if err != nil {
		return nil, false, err
	}
	var resp struct {
		Error *struct {
			ErrCode     jetstream.ErrorCode `json:"err_code"`
			Description string              `json:"description"`
		} `json:"error"`
		Message *struct {
			Header []byte `json:"hdrs"`
			Data   []byte `json:"data"`
		} `json:"message"`
	}
	if err := json.Unmarshal(msg.Data, &resp); err != nil {
		return nil, false, fmt.Errorf("decoding JetStream's answer: %w", err)
	}
	switch {
	case resp.Error != nil && resp.Error.ErrCode == jetstream.JSErrCodeMessageNotFound:
		return nil, false, nil
	case resp.Error != nil:
		return nil, false, fmt.Errorf("JetStream: %s (%d)", resp.Error.Description, resp.Error.ErrCode)
	case resp.Message == nil:
		return nil, false, errors.New("JetStream answered without the message")
	}
	if len(resp.Message.Header) > 0 {
		h, err := nats.DecodeHeadersMsg(resp.Message.Header)
		if err != nil {
			return nil, false, fmt.Errorf("decoding the key's headers: %w", err)
		}
		// A delete, a purge, or the marker a TTL expiry leaves.
		if h.Get("KV-Operation") != "" || h.Get(jetstream.MarkerReasonHeader) != "" {
			return nil, false, nil
		}
	}
	return resp.Message.Data, true, nil
}

// nodeHandshake answers the owner's challenge on a fresh connection.
func (c *Cluster) nodeHandshake(ctx context.Context, nc net.Conn, nameplate string, receiver netip.AddrPort) error {
	deadline, _ := ctx.Deadline()
	nc.SetDeadline(deadline) //nolint:errcheck // a failed deadline fails the exchange
	var ch [challengeLen]byte
	if _, err := readFull(nc, ch[:]); err != nil {
		return fmt.Errorf("reading its challenge: %w", err)
	}
	if _, err := nc.Write(appendNodeHello(nil, c.cfg.Secret, ch, nameplate, receiver)); err != nil {
		return fmt.Errorf("answering its challenge: %w", err)
	}
	return nc.SetDeadline(time.Time{})
}
