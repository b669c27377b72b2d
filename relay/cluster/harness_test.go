package cluster_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/bob-p2p/bob/relay"
	"github.com/bob-p2p/bob/relay/cluster"
	"github.com/bob-p2p/bob/relay/rendezvous"
)

var testSecret = []byte("a cluster secret for tests only")

// freePort returns a loopback TCP port that was free a moment ago; NATS
// routes and restarts need ports known before the servers start.
func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// natsMember is one embedded NATS server and what it takes to restart it.
type natsMember struct {
	opts *server.Options
	srv  *server.Server
}

func (m *natsMember) url() string { return fmt.Sprintf("nats://127.0.0.1:%d", m.opts.Port) }

func (m *natsMember) start(t testing.TB) {
	t.Helper()
	s, err := server.NewServer(m.opts)
	if err != nil {
		t.Fatal(err)
	}
	s.Start()
	if !s.ReadyForConnections(20 * time.Second) {
		s.Shutdown()
		t.Fatalf("NATS %s did not start", m.opts.ServerName)
	}
	m.srv = s
}

func (m *natsMember) stop() {
	if m.srv != nil {
		m.srv.Shutdown()
		m.srv.WaitForShutdown()
		m.srv = nil
	}
}

// startNATS starts n JetStream servers on loopback, clustered when n > 1,
// and stops them when the test ends.
func startNATS(t testing.TB, n int) []*natsMember {
	t.Helper()
	members := make([]*natsMember, n)
	var routes []string
	clusterPorts := make([]int, n)
	for i := range n {
		clusterPorts[i] = freePort(t)
		routes = append(routes, fmt.Sprintf("nats-route://127.0.0.1:%d", clusterPorts[i]))
	}
	for i := range n {
		o := &server.Options{
			ServerName: "nats" + strconv.Itoa(i),
			Host:       "127.0.0.1",
			Port:       freePort(t),
			NoLog:      true,
			NoSigs:     true,
			JetStream:  true,
			StoreDir:   t.TempDir(),
		}
		if n > 1 {
			o.Cluster = server.ClusterOpts{Name: "bob", Host: "127.0.0.1", Port: clusterPorts[i]}
			o.Routes = server.RoutesFromStr(strings.Join(routes, ","))
		}
		members[i] = &natsMember{opts: o}
	}
	for _, m := range members {
		m.start(t)
	}
	t.Cleanup(func() {
		for _, m := range members {
			m.stop()
		}
	})
	return members
}

func natsURLs(members []*natsMember) string {
	var urls []string
	for _, m := range members {
		urls = append(urls, m.url())
	}
	return strings.Join(urls, ",")
}

// node is one relay of the cluster under test.
type node struct {
	addr     string // where clients connect
	nodeAddr string
	srv      *relay.Server
	cl       *cluster.Cluster
	cancel   context.CancelFunc
	done     chan struct{}
	once     sync.Once
}

type nodeOpts struct {
	wait     time.Duration // the wait timeout, and so the nameplates' TTL
	replicas int
}

func startNode(t testing.TB, urls string, o nodeOpts) *node {
	t.Helper()
	if o.wait == 0 {
		o.wait = time.Minute
	}
	if o.replicas == 0 {
		o.replicas = 3
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	nln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cl, err := cluster.New(cluster.Config{
		URLs: urls, NodeAddr: nln.Addr().String(), Secret: testSecret,
		TTL: o.wait, Replicas: o.replicas,
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := relay.New(relay.Config{
		Cluster: cl, WaitTimeout: o.wait, ShutdownGrace: time.Second,
		MaxConnsPerIP: -1, PerIPRate: 0, PerIPBurst: -1,
		MaxConns: -1, MaxWaiting: -1, Logger: testLogger(),
	})
	ctx, cancel := context.WithCancel(context.Background())
	n := &node{addr: ln.Addr().String(), nodeAddr: nln.Addr().String(), srv: srv, cl: cl, cancel: cancel, done: make(chan struct{})}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		cl.ServeNodes(ctx, nln, srv.ServeForwarded) //nolint:errcheck // ends with ctx
	}()
	go func() {
		defer wg.Done()
		srv.Serve(ctx, ln) //nolint:errcheck // ends with ctx
	}()
	go func() {
		wg.Wait()
		cl.Close()
		close(n.done)
	}()
	t.Cleanup(n.stop)
	return n
}

// stop shuts the node down gracefully and waits for it.
func (n *node) stop() {
	n.once.Do(func() {
		n.cancel()
		<-n.done
	})
}

// crash stops the node as a crash would for the cluster: NATS is cut
// first, so nothing it holds is released.
func (n *node) crash() {
	n.cl.Close()
	n.stop()
}

// forwarded returns the node's forwarded-receiver counter.
func (n *node) forwarded(direction string) float64 {
	return counter(n.srv, "bob_relay_cluster_forwarded_total", "direction", direction)
}

func counter(srv *relay.Server, name, label, value string) float64 {
	mfs, err := srv.Registry().Gather()
	if err != nil {
		return -1
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if lp.GetName() == label && lp.GetValue() == value {
					if m.GetCounter() != nil {
						return m.GetCounter().GetValue()
					}
				}
			}
			if label == "" && m.GetGauge() != nil {
				return m.GetGauge().GetValue()
			}
		}
	}
	return -1
}

// opened is a sender whose nameplate is open.
type opened struct {
	conn      net.Conn
	nameplate string
}

// openSender connects to addr and opens a nameplate (want, or any).
func openSender(ctx context.Context, addr, want string) (*opened, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	np, err := rendezvous.Open(ctx, c, want, "")
	if err != nil {
		c.Close()
		return nil, err
	}
	return &opened{conn: c, nameplate: np}, nil
}

// sendAll waits for the pair, sends payload, half-closes, and returns what
// the receiver sent back.
func (o *opened) sendAll(ctx context.Context, payload []byte) ([]byte, error) {
	defer o.conn.Close()
	if err := rendezvous.WaitPaired(ctx, o.conn); err != nil {
		return nil, fmt.Errorf("waiting for the pair: %w", err)
	}
	stop := context.AfterFunc(ctx, func() { o.conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	if _, err := o.conn.Write(payload); err != nil {
		return nil, fmt.Errorf("sending: %w", err)
	}
	if err := o.conn.(*net.TCPConn).CloseWrite(); err != nil {
		return nil, err
	}
	return io.ReadAll(o.conn)
}

// receive claims nameplate at addr, reads everything the sender sends,
// answers with reply, and returns what it read.
func receive(ctx context.Context, addr, nameplate string, reply []byte) ([]byte, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	if err := rendezvous.Claim(ctx, c, nameplate, ""); err != nil {
		return nil, err
	}
	stop := context.AfterFunc(ctx, func() { c.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	got, err := io.ReadAll(c)
	if err != nil {
		return nil, fmt.Errorf("receiving: %w", err)
	}
	if _, err := c.Write(reply); err != nil {
		return nil, err
	}
	return got, c.(*net.TCPConn).CloseWrite()
}

// pairUp pairs a sender at sendAddr with a receiver at recvAddr and
// checks that payload goes one way and a reply the other.
func pairUp(ctx context.Context, sendAddr, recvAddr string, payload []byte) (string, error) {
	o, err := openSender(ctx, sendAddr, "")
	if err != nil {
		return "", fmt.Errorf("opening: %w", err)
	}
	reply := []byte("got " + strconv.Itoa(len(payload)) + " bytes for " + o.nameplate)
	type result struct {
		b   []byte
		err error
	}
	back := make(chan result, 1)
	go func() {
		b, err := o.sendAll(ctx, payload)
		back <- result{b, err}
	}()
	got, rerr := receive(ctx, recvAddr, o.nameplate, reply)
	if rerr != nil {
		o.conn.Close()
	}
	r := <-back
	if err := errors.Join(rerr, r.err); err != nil {
		return o.nameplate, err
	}
	if !bytes.Equal(got, payload) {
		return o.nameplate, fmt.Errorf("receiver got %d bytes that differ from the %d sent", len(got), len(payload))
	}
	if !bytes.Equal(r.b, reply) {
		return o.nameplate, fmt.Errorf("sender got %q back, want %q", r.b, reply)
	}
	return o.nameplate, nil
}

// eventually retries f until it succeeds or the bound passes; it is for
// states NATS reaches on its own time (elections, expiry, reconnection).
func eventually(t testing.TB, bound time.Duration, what string, f func() error) {
	t.Helper()
	end := time.Now().Add(bound)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(end) {
			t.Fatalf("%s: still failing after %v: %v", what, bound, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// front is a round-robin TCP load balancer, as deployments put before the
// nodes.
type front struct {
	ln       net.Listener
	backends []string
	wg       sync.WaitGroup
	mu       sync.Mutex
	next     int
	conns    map[net.Conn]struct{}
}

func startFront(t testing.TB, backends ...string) *front {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &front{ln: ln, backends: backends, conns: make(map[net.Conn]struct{})}
	f.wg.Add(1)
	go f.accept()
	t.Cleanup(f.close)
	return f
}

func (f *front) addr() string { return f.ln.Addr().String() }

func (f *front) accept() {
	defer f.wg.Done()
	for {
		c, err := f.ln.Accept()
		if err != nil {
			return
		}
		f.mu.Lock()
		backend := f.backends[f.next%len(f.backends)]
		f.next++
		f.mu.Unlock()
		f.wg.Add(1)
		go f.proxy(c, backend)
	}
}

func (f *front) track(c net.Conn, add bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if add {
		f.conns[c] = struct{}{}
	} else {
		delete(f.conns, c)
	}
}

func (f *front) proxy(c net.Conn, backend string) {
	defer f.wg.Done()
	defer c.Close()
	b, err := net.DialTimeout("tcp", backend, 5*time.Second)
	if err != nil {
		return
	}
	defer b.Close()
	f.track(c, true)
	f.track(b, true)
	defer f.track(c, false)
	defer f.track(b, false)
	done := make(chan struct{})
	go func() {
		defer close(done)
		io.Copy(b, c)                 //nolint:errcheck // ends with the connection
		b.(*net.TCPConn).CloseWrite() //nolint:errcheck // best effort
	}()
	io.Copy(c, b)                 //nolint:errcheck // ends with the connection
	c.(*net.TCPConn).CloseWrite() //nolint:errcheck // best effort
	<-done
}

func (f *front) close() {
	f.ln.Close()
	f.mu.Lock()
	for c := range f.conns {
		c.Close()
	}
	f.mu.Unlock()
	f.wg.Wait()
}

// fdKinds tells what the open descriptors are, for a failure message.
func fdKinds() string {
	ents, _ := os.ReadDir("/proc/self/fd")
	kinds := map[string]int{}
	for _, e := range ents {
		target, _ := os.Readlink("/proc/self/fd/" + e.Name())
		if i := strings.IndexAny(target, ":["); i > 0 {
			target = target[:i]
		} else {
			target = filepath.Dir(target)
		}
		kinds[target]++
	}
	return fmt.Sprint(kinds)
}

// openFDs counts this process's open descriptors.
func openFDs(t testing.TB) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatalf("counting descriptors: %v", err)
	}
	return len(ents)
}

// testLogger shows the relays' debug logs when BOB_TEST_LOG is set.
func testLogger() *slog.Logger {
	if os.Getenv("BOB_TEST_LOG") == "" {
		return nil
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
}
