//go:build linux

package main

import (
	"crypto/rand"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// natTopology is lanA — natA — wan (relay) — natB — lanB, made of network
// namespaces: each NAT masquerades its LAN behind its WAN address and, like
// a home router, drops what arrives unasked from the WAN. Addresses are
// private (10.x) and documentation ones (203.0.113.0/24 as the "internet").
type natTopology struct {
	*lan
}

const (
	wanRelay = "203.0.113.10"
	wanNatA  = "203.0.113.1"
	wanNatB  = "203.0.113.2"
)

// newNATs builds the topology. random makes both NATs symmetric (a new
// port for every destination); relayRate shapes the relay's link.
func newNATs(t *testing.T, random bool, relayRate string) *natTopology {
	t.Helper()
	needNetns(t, "nft")
	bin, err := buildBob()
	if err != nil {
		t.Fatal(err)
	}
	var b [3]byte
	rand.Read(b[:])
	n := &natTopology{&lan{t: t, prefix: fmt.Sprintf("bn%x", b), bob: bin}}
	t.Cleanup(n.closeAll)
	w := n.ns("W")
	n.sh("ip netns add " + w)
	n.sh("ip -n " + w + " link add br0 type bridge")
	n.sh("ip -n " + w + " link set br0 up")
	// The relay on the WAN.
	n.host("R", w, wanRelay+"/24", "")
	if relayRate != "" {
		dev := n.prefix + "R"
		for _, end := range [][2]string{{n.ns("R"), dev}, {w, dev + "p"}} {
			n.sh(fmt.Sprintf("ip netns exec %s tc qdisc add dev %s root tbf rate %s burst 32kbit latency 400ms", end[0], end[1], relayRate))
		}
	}
	masq := "masquerade"
	if random {
		masq = "masquerade random"
	}
	for _, side := range []struct{ name, wan, lanNet string }{{"A", wanNatA, "10.231.1"}, {"B", wanNatB, "10.231.2"}} {
		nat := "N" + side.name
		n.host(nat, w, side.wan+"/24", "")
		natNS, wanDev := n.ns(nat), n.prefix+nat
		lanDev := n.prefix + side.name + "l"
		// The LAN: a veth straight from the NAT to the host behind it.
		host := n.ns(side.name)
		n.sh("ip netns add " + host)
		n.sh(fmt.Sprintf("ip link add %s netns %s type veth peer name %s netns %s", lanDev, natNS, n.prefix+side.name, host))
		n.sh(fmt.Sprintf("ip -n %s addr add %s.1/24 dev %s", natNS, side.lanNet, lanDev))
		n.sh(fmt.Sprintf("ip -n %s link set %s up", natNS, lanDev))
		n.sh(fmt.Sprintf("ip -n %s addr add %s.2/24 dev %s", host, side.lanNet, n.prefix+side.name))
		n.sh(fmt.Sprintf("ip -n %s link set lo up", host))
		n.sh(fmt.Sprintf("ip -n %s link set %s up", host, n.prefix+side.name))
		n.sh(fmt.Sprintf("ip -n %s route add default via %s.1", host, side.lanNet))
		n.sh(fmt.Sprintf("ip netns exec %s sysctl -qw net.ipv4.ip_forward=1", natNS))
		n.nftNS(natNS, fmt.Sprintf(`table ip nat {
	chain post { type nat hook postrouting priority 100; oifname "%s" %s; }
}
table inet fw {
	chain forwarding { type filter hook forward priority 0; policy drop; ct state established,related accept; iifname "%s" accept; }
	chain incoming { type filter hook input priority 0; policy drop; ct state established,related accept; iifname { "lo", "%s" } accept; }
}`, wanDev, masq, lanDev, lanDev))
	}
	return n
}

// host adds a namespace on the WAN bridge with addr.
func (n *natTopology) host(name, sw, addr, _ string) {
	ns, dev := n.ns(name), n.prefix+name
	n.sh("ip netns add " + ns)
	n.sh(fmt.Sprintf("ip link add %s netns %s type veth peer name %sp netns %s", dev, ns, dev, sw))
	n.sh(fmt.Sprintf("ip -n %s link set %sp master br0", sw, dev))
	n.sh(fmt.Sprintf("ip -n %s link set %sp up", sw, dev))
	n.sh(fmt.Sprintf("ip -n %s addr add %s dev %s", ns, addr, dev))
	n.sh(fmt.Sprintf("ip -n %s link set lo up", ns))
	n.sh(fmt.Sprintf("ip -n %s link set %s up", ns, dev))
}

func (n *natTopology) nftNS(ns, rules string) {
	n.t.Helper()
	cmd := exec.Command("ip", "netns", "exec", ns, "nft", "-f", "-")
	cmd.Stdin = strings.NewReader(rules)
	if out, err := cmd.CombinedOutput(); err != nil {
		n.t.Fatalf("nft in %s: %v: %s", ns, err, out)
	}
}

func (n *natTopology) closeAll() {
	n.lan.close()
	for _, h := range []string{"W", "R", "NA", "NB", "A", "B"} {
		exec.Command("ip", "netns", "del", n.ns(h)).Run()
	}
}

// relay starts bob relay on R and waits until A's side can reach it.
func (n *natTopology) relay(dir string) (addr string, p *proc) {
	n.t.Helper()
	addr = wanRelay + ":9009"
	p = n.start("R", dir, "relay", "--listen", addr)
	for range 250 {
		if exec.Command("ip", "netns", "exec", n.ns("A"), "bash", "-c", "exec 3<>/dev/tcp/"+wanRelay+"/9009").Run() == nil {
			return addr, p
		}
		time.Sleep(20 * time.Millisecond)
	}
	n.t.Fatal("the relay did not start")
	return "", nil
}

var pathLine = regexp.MustCompile(`(?m)^\{.*"event":"path".*$`)

// Behind two endpoint-independent NATs (plain masquerade), the peers punch
// through and the data goes direct.
func TestNATsPunchedThrough(t *testing.T) {
	n := newNATs(t, false, "")
	relay, _ := n.relay(t.TempDir())
	src, dst := peers(t, 8<<20)
	sender := n.start("A", src, "send", "--json", "--relay", relay, "--code", "5-orbit-lantern-quiet", "data.bin")
	waitJSON(t, sender, `"event":"code"`)
	start := time.Now()
	recv := n.start("B", dst, "recv", "--json", "--yes", "--relay", relay, "5-orbit-lantern-quiet")
	if err := recv.wait(t); err != nil {
		t.Fatalf("%v\n%s\n%s", err, recv.stdout.String(), recv.stderr.String())
	}
	if err := sender.wait(t); err != nil {
		t.Fatal(err)
	}
	sameFile(t, filepath.Join(src, "data.bin"), filepath.Join(dst, "data.bin"))
	out := recv.stdout.String()
	paths := pathLine.FindAllString(out, -1)
	if len(paths) == 0 || !strings.Contains(paths[len(paths)-1], `"via":"direct"`) || !strings.Contains(paths[len(paths)-1], `"kind":"reflexive"`) ||
		!strings.Contains(paths[len(paths)-1], wanNatA) || !regexp.MustCompile(`"event":"done".*"via":"direct"`).MatchString(out) {
		t.Fatalf("not punched through:\n%s\n%s", out, recv.stderr.String())
	}
	t.Logf("through two NATs: direct (%s) after %d path event(s), whole receive %v", strings.TrimSpace(paths[len(paths)-1]), len(paths), time.Since(start).Round(time.Millisecond))
}

// waitJSON waits for a line of p's output holding s.
func waitJSON(t *testing.T, p *proc, s string) string {
	t.Helper()
	for range 1000 {
		for _, l := range strings.Split(p.stdout.String(), "\n") {
			if strings.Contains(l, s) {
				return l
			}
		}
		select {
		case <-p.done:
			t.Fatalf("bob ended before %s: %v\n%s\n%s", s, p.err, p.stdout.String(), p.stderr.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	t.Fatalf("no %s within 20 s:\n%s", s, p.stdout.String())
	return ""
}

// Symmetric NATs (a new port for every destination) cannot be punched
// through: the transfer completes over the relay, no error, after the
// window.
func TestSymmetricNATsUseRelay(t *testing.T) {
	n := newNATs(t, true, "")
	relay, _ := n.relay(t.TempDir())
	took, relayOnly := n.relayFallback(t, relay)
	t.Logf("symmetric NATs: %v, %v with --no-direct: the window cost %v", took.Round(time.Millisecond), relayOnly.Round(time.Millisecond), (took - relayOnly).Round(time.Millisecond))
}

// The relay's link is slow (10 Mbit/s), the NATs' are not: the direct
// transfer runs well above the relay's rate.
func TestNATsDirectOutrunsSlowRelay(t *testing.T) {
	n := newNATs(t, false, "10mbit")
	relay, _ := n.relay(t.TempDir())
	const size = 64 << 20
	elapsed := n.directTransfer(t, relay, size)
	t.Logf("64 MiB through two NATs in %v: %.1f MB/s; the relay's link carries 1.25 MB/s", elapsed.Round(time.Millisecond), size/elapsed.Seconds()/1e6)
}

// Once the data goes direct, losing the relay does not stop the transfer.
func TestRelayLostAfterDirect(t *testing.T) {
	n := newNATs(t, false, "")
	relay, relayProc := n.relay(t.TempDir())
	dst := t.TempDir()
	data := make([]byte, 4<<20)
	rand.Read(data)
	sender := n.start("A", t.TempDir(), "send", "--plain", "--relay", relay, "--code", "7-orbit-lantern-quiet", "--name", "stream.bin", "-")
	stdin := sender.stdin
	stdin.Write(data[:32<<10]) // fits the pipe: bob reads it only once the receiver accepts
	sender.code(t)
	recv := n.start("B", dst, "recv", "--plain", "--yes", "--relay", relay, "7-orbit-lantern-quiet")
	waitText(t, recv, "connected directly to the other side")
	relayProc.cmd.Process.Kill()
	<-relayProc.done
	waitText(t, recv, "progress:")
	stdin.Write(data[32<<10:])
	stdin.Close()
	if err := recv.wait(t); err != nil {
		t.Fatalf("%v\n%s\n%s", err, recv.stdout.String(), recv.stderr.String())
	}
	if err := sender.wait(t); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(dst, "stream.bin"))
	if err != nil || !bytesEqual(got, data) {
		t.Fatalf("received %d bytes (%v), want the %d sent", len(got), err, len(data))
	}
}

func bytesEqual(a, b []byte) bool { return string(a) == string(b) }

func waitText(t *testing.T, p *proc, s string) {
	t.Helper()
	for range 1500 {
		if strings.Contains(p.stdout.String(), s) {
			return
		}
		select {
		case <-p.done:
			t.Fatalf("bob ended before %q: %v\n%s\n%s", s, p.err, p.stdout.String(), p.stderr.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	t.Fatalf("no %q within 30 s:\n%s", s, p.stdout.String())
}

// IPv6 without NAT, but each peer behind a stateful firewall that drops
// new inbound TCP: neither can dial the other, yet both opening towards
// each other at once (simultaneous open) goes through.
func TestIPv6FirewallsSimultaneousOpen(t *testing.T) {
	needNetns(t, "nft")
	l := newLAN(t, "")
	for host, addr := range map[string]string{"A": "2001:db8:77::1", "B": "2001:db8:77::2", "R": "2001:db8:77::3"} {
		l.sh(fmt.Sprintf("ip -n %s addr add %s/64 dev %s nodad", l.ns(host), addr, l.prefix+host))
	}
	for _, host := range []string{"A", "B"} {
		l.nft(host, `table inet fw {
	chain incoming { type filter hook input priority 0; ct state established,related accept; meta l4proto tcp ct state new drop; }
}`)
	}
	relay := "[2001:db8:77::3]:9009"
	l.start("R", t.TempDir(), "relay", "--listen", relay)
	time.Sleep(300 * time.Millisecond) // the relay binds at once; a failed dial below would say so
	src, dst := peers(t, 2<<20)
	sender := l.start("A", src, "send", "--json", "--no-discovery", "--relay", relay, "--code", "8-orbit-lantern-quiet", "data.bin")
	waitJSON(t, sender, `"event":"code"`)
	recv := l.start("B", dst, "recv", "--json", "--yes", "--no-discovery", "--relay", relay, "8-orbit-lantern-quiet")
	if err := recv.wait(t); err != nil {
		t.Fatalf("%v\n%s\n%s", err, recv.stdout.String(), recv.stderr.String())
	}
	if err := sender.wait(t); err != nil {
		t.Fatal(err)
	}
	sameFile(t, filepath.Join(src, "data.bin"), filepath.Join(dst, "data.bin"))
	paths := pathLine.FindAllString(recv.stdout.String(), -1)
	if len(paths) == 0 || !strings.Contains(paths[len(paths)-1], `"kind":"reflexive"`) || !strings.Contains(paths[len(paths)-1], "2001:db8:77::1") {
		t.Fatalf("not direct by simultaneous open:\n%s", recv.stdout.String())
	}
}
