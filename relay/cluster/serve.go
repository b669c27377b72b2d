package cluster

import (
	"context"
	"errors"
	"io"
	"net"
	"net/netip"
	"sync"
	"time"
)

// maxHandshakes caps the node handshakes in progress at once, so a flood
// on the node port costs a bounded number of goroutines.
const maxHandshakes = 256

// handshakeTimeout bounds a node's handshake.
const handshakeTimeout = 5 * time.Second

// ServeNodes accepts connections from other nodes on ln until ctx ends.
// Each one that proves the cluster secret is handed, with the nameplate it
// asks for and its receiver's address, to handoff (the relay's
// ServeForwarded), which then owns it;
// any other is closed. It closes ln and returns once every handshake it
// started has ended.
func (c *Cluster) ServeNodes(ctx context.Context, ln net.Listener, handoff func(net.Conn, string, netip.AddrPort)) error {
	stop := context.AfterFunc(ctx, func() { ln.Close() }) //nolint:errcheck // Accept reports it
	defer stop()
	var wg sync.WaitGroup
	defer wg.Wait()
	sem := make(chan struct{}, maxHandshakes)
	c.log.Info("serving other nodes", "addr", ln.Addr().String())
	for {
		nc, err := ln.Accept()
		if err != nil {
			ln.Close() //nolint:errcheck // may be closed already
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return nil
			}
			return err
		}
		select {
		case sem <- struct{}{}:
		default:
			c.log.Warn("too many node handshakes at once; dropping one", "remote", nc.RemoteAddr().String())
			nc.Close() //nolint:errcheck // refused
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			c.serveNode(nc, handoff)
		}()
	}
}

// serveNode authenticates one node connection and hands it off.
func (c *Cluster) serveNode(nc net.Conn, handoff func(net.Conn, string, netip.AddrPort)) {
	nc.SetDeadline(time.Now().Add(handshakeTimeout)) //nolint:errcheck // a failed deadline fails the exchange
	ch, err := newChallenge()
	if err == nil {
		_, err = nc.Write(ch[:])
	}
	var nameplate string
	var receiver netip.AddrPort
	if err == nil {
		nameplate, receiver, err = readNodeHello(nc, c.cfg.Secret, ch)
	}
	if err == nil {
		err = nc.SetDeadline(time.Time{})
	}
	if err != nil {
		c.m.nodeRefused.Inc()
		c.log.Warn("refused a connection on the node port", "remote", nc.RemoteAddr().String(), "err", err)
		nc.Close() //nolint:errcheck // refused
		return
	}
	c.m.forwarded.WithLabelValues(directionFrom).Inc()
	handoff(nc, nameplate, receiver)
}

func readFull(r io.Reader, b []byte) (int, error) {
	n, err := io.ReadFull(r, b)
	if errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	return n, err
}
