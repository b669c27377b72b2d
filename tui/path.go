package tui

import (
	"net"
	"net/netip"
	"strings"

	"github.com/bob-p2p/bob/internal/safeterm"
	"github.com/bob-p2p/bob/transfer"
)

// viaText says, for people, which way the data went: "direct" or "via
// relay HOST:PORT"; "" when nobody said.
func viaText(via, relay string) string {
	switch via {
	case "":
		return ""
	case "direct":
		return "direct"
	case "relay":
		if relay == "" {
			return "via the relay"
		}
		return "via relay " + safeterm.Escape(relay)
	}
	return "via " + safeterm.Escape(via)
}

// pathText describes a chosen path as it is chosen.
func pathText(p transfer.PathChosen) string {
	if p.Direct {
		if p.Peer != "" {
			return "connected directly to the other side (" + safeterm.Escape(p.Peer) + ")"
		}
		return "connected directly to the other side"
	}
	if p.Relay != "" {
		return "the data goes through relay " + safeterm.Escape(p.Relay)
	}
	return "the data goes through the relay"
}

// elsewhereCommand is the command for a receiver on another network, when
// the one shown relies on finding the sender on the local network.
func elsewhereCommand(c transfer.CodeReady) string {
	if c.Relay != "" || len(c.Hints) == 0 {
		return ""
	}
	return "bob recv --relay " + safeterm.Escape(shellWord(c.Hints[0]))
}

// runWhere says where the receive command works: "the other machine", or
// this one only when the relay the receiver is told to use is a loopback
// address (issue 16 item 13).
func runWhere(c transfer.CodeReady) string {
	if isLoopback(c.Relay) {
		return "this machine (the relay is on loopback)"
	}
	return "the other machine"
}

// isLoopback reports whether a relay's HOST:PORT (or HOST) names this
// machine only: 127.0.0.0/8, ::1 or localhost.
func isLoopback(relay string) bool {
	host, _, err := net.SplitHostPort(relay)
	if err != nil {
		host = strings.Trim(relay, "[]")
	}
	if strings.EqualFold(strings.TrimSuffix(host, "."), "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.Unmap().IsLoopback()
}

// shellWord quotes an address for POSIX shells when it has brackets (an
// IPv6 literal, which shells would take for a glob pattern).
func shellWord(s string) string {
	for _, r := range s {
		if r == '[' || r == ']' || r == '%' || r == ' ' {
			return "'" + s + "'"
		}
	}
	return s
}
