package relay

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"time"

	"github.com/bob-p2p/bob/relay/rendezvous"
)

// Cluster shares one nameplate space among several relay nodes. Package
// relay/cluster implements it on NATS JetStream; a relay without one
// (Config.Cluster nil) is standalone and behaves exactly as before.
//
// Errors wrap rendezvous.ErrNameplateTaken, rendezvous.ErrUnknownNameplate
// or rendezvous.ErrClusterUnavailable; the relay answers the client with
// the matching code.
type Cluster interface {
	// Claim claims nameplate want for this node cluster-wide, or the lowest
	// free one (or near it) when want is empty, and returns it.
	Claim(ctx context.Context, want string) (string, error)
	// Release frees a nameplate Claim returned, once its sender leaves
	// unpaired.
	Release(nameplate string)
	// Void ends this node's hold on a nameplate whose pair has ended but
	// keeps it taken cluster-wide for the wait timeout, as the relay's own
	// books do.
	Void(nameplate string)
	// DialOwner connects to the other node holding nameplate and asks it to
	// serve a receiver for it: that node answers the rendezvous over the
	// returned connection as if the receiver, seen at receiver, had
	// reached it directly.
	DialOwner(ctx context.Context, nameplate string, receiver netip.AddrPort) (net.Conn, error)
}

const reasonClusterUnavailable = "cluster_unavailable"

// clusterCode maps a Cluster error to the code the client is refused with.
func clusterCode(err error) (rendezvous.Code, string) {
	switch {
	case errors.Is(err, rendezvous.ErrNameplateTaken):
		return rendezvous.CodeNameplateTaken, reasonNameplateTaken
	case errors.Is(err, rendezvous.ErrUnknownNameplate):
		return rendezvous.CodeUnknownNameplate, reasonUnknownNameplate
	default:
		return rendezvous.CodeClusterUnavailable, reasonClusterUnavailable
	}
}

// clusterClaim claims a nameplate cluster-wide for a sender; with no
// cluster it returns want unchanged for the local books to decide.
func (s *Server) clusterClaim(want string) (string, rendezvous.Code, string) {
	if s.cfg.Cluster == nil {
		return want, 0, ""
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.HelloTimeout)
	defer cancel()
	name, err := s.cfg.Cluster.Claim(ctx, want)
	if err != nil {
		code, reason := clusterCode(err)
		s.log.Debug("cluster claim failed", "nameplate", want, "err", err)
		return "", code, reason
	}
	return name, 0, ""
}

// clusterRelease frees a nameplate cluster-wide, if there is a cluster.
func (s *Server) clusterRelease(nameplate string) {
	if s.cfg.Cluster != nil {
		s.cfg.Cluster.Release(nameplate)
	}
}

// clusterVoid keeps a paired nameplate taken cluster-wide for the wait
// timeout, if there is a cluster.
func (s *Server) clusterVoid(nameplate string) {
	if s.cfg.Cluster != nil {
		s.cfg.Cluster.Void(nameplate)
	}
}

// serveRemoteReceiver serves a receiver whose nameplate no sender holds on
// this node: it is forwarded one hop to the node that does, which answers
// it. The bytes stay end-to-end encrypted; this node only splices.
func (s *Server) serveRemoteReceiver(c *conn, nameplate string) {
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.HelloTimeout)
	nc, err := s.cfg.Cluster.DialOwner(ctx, nameplate, c.observed())
	cancel()
	if err != nil {
		code, reason := clusterCode(err)
		s.log.Debug("forwarding a receiver failed", "nameplate", nameplate, "err", err)
		s.refuse(c, code, reason)
		return
	}
	peer := &conn{raw: nc, s: s, phase: inForward}
	s.mu.Lock()
	closing := s.closing
	if !closing {
		s.conns[peer] = struct{}{}
		c.phase = inForward
	}
	s.mu.Unlock()
	if closing {
		nc.Close() //nolint:errcheck // never used
		s.refuse(c, rendezvous.CodeShuttingDown, reasonShuttingDown)
		return
	}
	s.m.connections.Inc()
	log := s.log.With("nameplate", nameplate)
	log.Debug("receiver forwarded to its sender's node", "node", nc.RemoteAddr().String())
	// The owner's replies (paired, or a refusal) pass through untouched.
	sent, received := s.forward(log, c, peer)
	c.close()
	peer.close()
	log.Debug("forwarded pair ended", "sent", sent, "received", received)
}

// ServeForwarded serves a receiver another node forwarded here, on a
// connection the cluster has already authenticated as coming from a node;
// receiver is where that node saw the receiver come from. It returns once
// the receiver is handed to its sender or refused.
func (s *Server) ServeForwarded(nc net.Conn, nameplate string, receiver netip.AddrPort) {
	c := &conn{raw: nc, s: s, fromNode: true, seenAt: receiver}
	s.mu.Lock()
	closing := s.closing
	if !closing {
		s.conns[c] = struct{}{}
		s.wg.Add(1)
	}
	s.mu.Unlock()
	if closing {
		nc.SetWriteDeadline(time.Now().Add(s.cfg.HelloTimeout))            //nolint:errcheck // a failed deadline fails the write
		nc.Write(rendezvous.AppendError(nil, rendezvous.CodeShuttingDown)) //nolint:errcheck // closing anyway
		nc.Close()                                                         //nolint:errcheck // nothing to do
		return
	}
	defer s.wg.Done()
	s.m.connections.Inc()
	s.serveReceiver(c, nameplate)
}
