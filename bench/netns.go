//go:build linux

package main

import (
	"context"
	"fmt"
	"net"
	"os/exec"
	"strings"
	"time"
)

// The rate-limited link: two network namespaces made here, joined by a veth
// pair whose addresses exist only inside them, each end shaped by tbf. The
// relay and the sender run in one, the receiver in the other, so the relay's
// bytes to the receiver cross the shaped link.
const (
	netnsPrefix     = "bobbench" // the benchmark's; tests use their own
	linkRate        = "100mbit"
	linkBytesPerSec = 100e6 / 8
	netnsRelayPort  = 47009
)

// netnsNames are the namespaces and interfaces of one link.
type netnsNames struct {
	sendNS, recvNS, sendDev, recvDev string
}

// namesFor derives the names from a prefix of at most 12 characters (an
// interface name holds 15).
func namesFor(prefix string) netnsNames {
	return netnsNames{sendNS: prefix + "A", recvNS: prefix + "B", sendDev: prefix + "A0", recvDev: prefix + "B0"}
}

var (
	netnsSendIP = net.IPv4(10, 213, 77, 1)
	netnsRecvIP = net.IPv4(10, 213, 77, 2)
)

// netnsUnavailable says why the namespaced link cannot be made here, or
// returns "" when it can be tried.
func netnsUnavailable(euid int, lookPath func(string) (string, error)) string {
	if euid != 0 {
		return "the rate-limited link needs root (network namespaces); skipped"
	}
	for _, tool := range []string{"ip", "tc"} {
		if _, err := lookPath(tool); err != nil {
			return fmt.Sprintf("the rate-limited link needs %q (apt package iproute2), which is not installed; skipped", tool)
		}
	}
	return ""
}

// setupCommands are the commands that make the link, in order.
func (n netnsNames) setupCommands() [][]string {
	var cmds [][]string
	add := func(s string) { cmds = append(cmds, strings.Fields(s)) }
	add("ip netns add " + n.sendNS)
	add("ip netns add " + n.recvNS)
	add(fmt.Sprintf("ip link add %s netns %s type veth peer name %s netns %s", n.sendDev, n.sendNS, n.recvDev, n.recvNS))
	for _, end := range []struct {
		ns, dev string
		ip      net.IP
	}{{n.sendNS, n.sendDev, netnsSendIP}, {n.recvNS, n.recvDev, netnsRecvIP}} {
		add(fmt.Sprintf("ip -n %s addr add %s/24 dev %s", end.ns, end.ip, end.dev))
		add(fmt.Sprintf("ip -n %s link set lo up", end.ns))
		add(fmt.Sprintf("ip -n %s link set %s up", end.ns, end.dev))
		add(fmt.Sprintf("ip netns exec %s tc qdisc add dev %s root tbf rate %s burst 32kbit latency 400ms", end.ns, end.dev, linkRate))
	}
	return cmds
}

// cleanupCommands remove whatever an earlier or the current run left.
// Deleting a namespace destroys the veth end inside it, and with it the pair.
func (n netnsNames) cleanupCommands() [][]string {
	return [][]string{
		{"ip", "netns", "del", n.recvNS},
		{"ip", "netns", "del", n.sendNS},
		{"ip", "link", "del", n.sendDev}, // only if a failed setup left it outside
	}
}

func runCommand(ctx context.Context, argv []string) error {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, argv[0], argv[1:]...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s: %w: %s", strings.Join(argv, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// cleanup removes the namespaces if they exist; it never fails.
func (n netnsNames) cleanup() {
	// Its own context: cleanup must run even after the run was cancelled.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	existing, _ := exec.CommandContext(ctx, "ip", "netns", "list").Output()
	links, _ := exec.CommandContext(ctx, "ip", "-o", "link", "show").Output()
	for _, argv := range n.cleanupCommands() {
		name := argv[len(argv)-1]
		if hasWord(string(existing), name) || strings.Contains(string(links), " "+name+"@") || strings.Contains(string(links), " "+name+":") {
			_ = runCommand(ctx, argv)
		}
	}
}

// hasWord reports whether name is a whole word of s.
func hasWord(s, name string) bool {
	for _, w := range strings.Fields(s) {
		if w == name {
			return true
		}
	}
	return false
}

// setup makes the link and returns how bob uses it. The caller must call
// cleanup, also when this fails.
func (n netnsNames) setup(ctx context.Context) (link, error) {
	for _, argv := range n.setupCommands() {
		if err := runCommand(ctx, argv); err != nil {
			return link{}, fmt.Errorf("making the rate-limited link: %w", err)
		}
	}
	return link{
		Name:            "netns " + linkRate,
		RateBytesPerSec: linkBytesPerSec,
		relayIP:         netnsSendIP,
		relayPort:       netnsRelayPort,
		relayWrap:       []string{"ip", "netns", "exec", n.sendNS},
		sendWrap:        []string{"ip", "netns", "exec", n.sendNS},
		recvWrap:        []string{"ip", "netns", "exec", n.recvNS},
	}, nil
}

// loopbackLink runs everything on 127.0.0.1 with a free port.
func loopbackLink() (link, error) {
	port, err := freeLoopbackPort()
	if err != nil {
		return link{}, fmt.Errorf("finding a free port: %w", err)
	}
	return link{Name: "loopback", relayIP: net.IPv4(127, 0, 0, 1), relayPort: port}, nil
}
