package session

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"time"

	"github.com/bob-p2p/bob/relay"
	"github.com/bob-p2p/bob/relay/rendezvous"
)

// DefaultLocalRelay is where a receiver with no relay configured looks on
// its own machine: the relay a bob send here runs inside itself, on
// rendezvous.DefaultPort (a test ties the two).
const DefaultLocalRelay = "127.0.0.1:9009"

// embeddedPortCount ports from the default are tried in order for the relay
// bob send runs inside itself.
const embeddedPortCount = 10

// dialTimeout bounds reaching a relay.
const dialTimeout = 10 * time.Second

// UsageError marks a setting that cannot work, as opposed to a failure on
// the way.
type UsageError struct{ Err error }

func (e UsageError) Error() string { return e.Err.Error() }
func (e UsageError) Unwrap() error { return e.Err }

// startEmbeddedRelay serves a relay until ctx ends; done is closed when it
// stopped. listen is empty (all interfaces), a host, or host:port; without a
// port it takes the default port or the next free one.
func startEmbeddedRelay(ctx context.Context, listen string) (addr *net.TCPAddr, done <-chan struct{}, err error) {
	host, ports := listen, []int(nil)
	if h, p, splitErr := net.SplitHostPort(listen); splitErr == nil {
		n, convErr := strconv.Atoi(p)
		if convErr != nil || n < 0 || n > 65535 {
			return nil, nil, UsageError{fmt.Errorf("--listen \"%s\": the port must be a number from 0 to 65535", listen)}
		}
		host, ports = h, []int{n}
	} else {
		for p := rendezvous.DefaultPort; p < rendezvous.DefaultPort+embeddedPortCount; p++ {
			ports = append(ports, p)
		}
	}
	var ln net.Listener
	for _, p := range ports {
		ln, err = net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(p)))
		if err == nil {
			break
		}
	}
	if ln == nil {
		return nil, nil, fmt.Errorf("could not start the built-in relay on %s: %w", describePorts(host, ports), err)
	}
	cfg := relay.DefaultConfig()
	cfg.Logger = slog.New(slog.DiscardHandler)
	cfg.ShutdownGrace = time.Second
	srv := relay.New(cfg)
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		_ = srv.Serve(ctx, ln)
	}()
	return ln.Addr().(*net.TCPAddr), finished, nil
}

func describePorts(host string, ports []int) string {
	where := "port"
	if host != "" {
		where = host + " port"
	}
	if len(ports) == 1 {
		return fmt.Sprintf("%s %d", where, ports[0])
	}
	return fmt.Sprintf("%ss %d-%d", where, ports[0], ports[len(ports)-1])
}

// embeddedAddrs returns where bob send dials its own built-in relay and the
// addresses a receiver elsewhere can reach it at.
func embeddedAddrs(ta *net.TCPAddr) (dial string, reach []string) {
	if ta.IP.IsUnspecified() {
		var out []string
		for _, a := range localAddrs() {
			out = append(out, netip.AddrPortFrom(a, uint16(ta.Port)).String())
		}
		if len(out) == 0 {
			out = []string{net.JoinHostPort("127.0.0.1", strconv.Itoa(ta.Port))}
		}
		return net.JoinHostPort("127.0.0.1", strconv.Itoa(ta.Port)), out
	}
	return ta.String(), []string{ta.String()}
}

// localAddrs lists this machine's addresses another machine can dial, most
// likely first: IPv4, then IPv6; no loopback and no link-local addresses.
func localAddrs() []netip.Addr {
	var v4, v6 []netip.Addr
	ifaces, err := net.Interfaces()
	if err != nil {
		return nil
	}
	for _, ifc := range ifaces {
		if ifc.Flags&net.FlagUp == 0 || ifc.Flags&net.FlagLoopback != 0 {
			continue
		}
		addrs, err := ifc.Addrs()
		if err != nil {
			continue
		}
		for _, a := range addrs {
			ipn, ok := a.(*net.IPNet)
			if !ok {
				continue
			}
			ip, ok := netip.AddrFromSlice(ipn.IP)
			if !ok {
				continue
			}
			ip = ip.Unmap()
			if ip.IsLinkLocalUnicast() || ip.IsLoopback() || ip.IsMulticast() || ip.IsUnspecified() {
				continue
			}
			if ip.Is4() {
				v4 = append(v4, ip)
			} else {
				v6 = append(v6, ip)
			}
		}
	}
	return append(v4, v6...)
}

// dialRelay dials every candidate at once and keeps the first connection.
func dialRelay(parent context.Context, addrs []string) (net.Conn, string, error) {
	ctx, cancel := context.WithTimeout(parent, dialTimeout)
	defer cancel()
	type result struct {
		conn net.Conn
		addr string
		err  error
	}
	results := make(chan result, len(addrs))
	// The relay connection's port may be shared later by hole punching.
	d := net.Dialer{Control: reusePort}
	for _, a := range addrs {
		go func() {
			c, err := d.DialContext(ctx, "tcp", a)
			results <- result{c, a, err}
		}()
	}
	var winner result
	var errs []error
	for range addrs {
		r := <-results
		switch {
		case r.err != nil:
			errs = append(errs, r.err)
		case winner.conn == nil:
			winner = r
			cancel() // stop the others
		default:
			r.conn.Close()
		}
	}
	if winner.conn != nil {
		return winner.conn, winner.addr, nil
	}
	if err := parent.Err(); err != nil {
		return nil, "", err // the caller gave up: not the relay's fault
	}
	return nil, "", &RelayUnreachableError{Addrs: addrs, Err: errors.Join(errs...)}
}

// CheckRelays dials the relay at addrs and hangs up, to say early that it
// cannot be reached. No addresses (no relay configured) is fine.
func CheckRelays(ctx context.Context, addrs []string) error {
	if len(addrs) == 0 {
		return nil
	}
	conn, _, err := dialRelay(ctx, addrs)
	if err != nil {
		return err
	}
	return conn.Close()
}
