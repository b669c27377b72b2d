package tui

import (
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
