package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/bob-p2p/bob/relay"
	"github.com/bob-p2p/bob/relay/rendezvous"
)

// config is bob's optional config file, $XDG_CONFIG_HOME/bob/config.json.
type config struct {
	Relay         string `json:"relay"`          // host:port, or several separated by commas
	RelayPassword string `json:"relay_password"` // for a private relay
}

func configPath(e *env) (string, error) {
	if dir := e.getenv("XDG_CONFIG_HOME"); dir != "" {
		return filepath.Join(dir, "bob", "config.json"), nil
	}
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, "bob", "config.json"), nil
}

func loadConfig(e *env) (config, error) {
	var c config
	path, err := configPath(e)
	if err != nil {
		return c, nil // no config directory: nothing configured
	}
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return c, nil
	}
	if err != nil {
		return c, fmt.Errorf("reading the config file: %w", err)
	}
	if err := json.Unmarshal(data, &c); err != nil {
		return c, fmt.Errorf("the config file %s is not valid JSON: %w", path, err)
	}
	return c, nil
}

// relayChoice is where a peer meets the other one.
type relayChoice struct {
	addrs    []string // candidates, tried at once; the first to answer wins
	password string
	embedded bool // no relay configured: the sender runs one inside itself
}

// chooseRelay applies the documented order: --relay, then BOB_RELAY, then the
// config file, then the embedded default.
func chooseRelay(e *env, flag, passwordFlag string) (relayChoice, error) {
	cfg, err := loadConfig(e)
	if err != nil {
		return relayChoice{}, err
	}
	rc := relayChoice{password: firstNonEmpty(passwordFlag, e.getenv("BOB_RELAY_PASSWORD"), cfg.RelayPassword)}
	spec := firstNonEmpty(flag, e.getenv("BOB_RELAY"), cfg.Relay)
	if spec == "" {
		rc.embedded = true
		return rc, nil
	}
	for _, a := range strings.Split(spec, ",") {
		a = strings.TrimSpace(a)
		if a == "" {
			continue
		}
		if _, _, err := net.SplitHostPort(a); err != nil {
			a = net.JoinHostPort(a, strconv.Itoa(rendezvous.DefaultPort))
		}
		rc.addrs = append(rc.addrs, a)
	}
	if len(rc.addrs) == 0 {
		return rc, usageError{fmt.Errorf("--relay %q names no address", spec)}
	}
	return rc, nil
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

// embeddedPorts are tried in order for the relay bob send runs inside itself.
const embeddedPortCount = 10

// startEmbeddedRelay serves a relay until ctx ends; done is closed when it
// stopped. listen is empty (all interfaces), a host, or host:port; without a
// port it takes the default port or the next free one.
func startEmbeddedRelay(ctx context.Context, listen string) (addr net.Addr, done <-chan struct{}, err error) {
	host, ports := listen, []int(nil)
	if h, p, splitErr := net.SplitHostPort(listen); splitErr == nil {
		n, convErr := strconv.Atoi(p)
		if convErr != nil || n < 0 || n > 65535 {
			return nil, nil, usageError{fmt.Errorf("--listen %q: the port must be a number from 0 to 65535", listen)}
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
	return ln.Addr(), finished, nil
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
// addresses it tells the receiver.
func embeddedAddrs(addr net.Addr) (dial string, hints []string) {
	ta, ok := addr.(*net.TCPAddr)
	if !ok {
		return addr.String(), []string{addr.String()}
	}
	if ta.IP.IsUnspecified() {
		return net.JoinHostPort("127.0.0.1", strconv.Itoa(ta.Port)), localAddrs(ta.Port)
	}
	return ta.String(), []string{ta.String()}
}

// localAddrs lists this machine's addresses a receiver on the same network can
// dial, most likely first: global IPv4, then IPv6, loopback last.
func localAddrs(port int) []string {
	var v4, v6 []string
	ifaces, err := net.Interfaces()
	if err == nil {
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
				if !ok || ipn.IP.IsLinkLocalUnicast() || ipn.IP.IsLoopback() {
					continue
				}
				hp := net.JoinHostPort(ipn.IP.String(), strconv.Itoa(port))
				if ipn.IP.To4() != nil {
					v4 = append(v4, hp)
				} else {
					v6 = append(v6, hp)
				}
			}
		}
	}
	out := append(v4, v6...)
	if len(out) == 0 {
		out = []string{net.JoinHostPort("127.0.0.1", strconv.Itoa(port))}
	}
	return out
}

// dialRelay dials every candidate at once and keeps the first connection.
func dialRelay(ctx context.Context, addrs []string) (net.Conn, string, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	type result struct {
		conn net.Conn
		addr string
		err  error
	}
	results := make(chan result, len(addrs))
	var d net.Dialer
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
	if ctx.Err() != nil && len(errs) == 0 {
		return nil, "", ctx.Err()
	}
	return nil, "", &relayUnreachableError{addrs: addrs, err: errors.Join(errs...)}
}

type relayUnreachableError struct {
	addrs []string
	err   error
}

func (e *relayUnreachableError) Error() string {
	return fmt.Sprintf("could not reach the relay at %s: %v", strings.Join(e.addrs, ", "), e.err)
}
func (e *relayUnreachableError) Unwrap() error { return e.err }
