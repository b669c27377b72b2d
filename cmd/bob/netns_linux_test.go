//go:build linux

package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// These tests run real bob processes on hosts made of network namespaces:
// a LAN of two peers (A, B) and a third host (R) on one bridge, inside a
// switch namespace. Addresses are private (10.231.77.0/24) and exist only
// inside the namespaces the test makes and removes.

const (
	lanA = "10.231.77.1"
	lanB = "10.231.77.2"
	lanR = "10.231.77.3"
)

// lan is one test's set of hosts.
type lan struct {
	t      *testing.T
	prefix string
	bob    string // the bob binary
	mu     sync.Mutex
	procs  []*exec.Cmd
}

var buildBob = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "bobnetns")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "bob")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("building bob: %v: %s", err, out)
	}
	return bin, nil
})

func needNetns(t *testing.T, tools ...string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to make network namespaces")
	}
	for _, tool := range append([]string{"ip"}, tools...) {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("needs %s (iproute2, nftables)", tool)
		}
	}
}

// newLAN makes the hosts. relayRate, if set, shapes R's link (tc tbf).
func newLAN(t *testing.T, relayRate string) *lan {
	t.Helper()
	needNetns(t)
	bin, err := buildBob()
	if err != nil {
		t.Fatal(err)
	}
	var b [3]byte
	rand.Read(b[:])
	l := &lan{t: t, prefix: fmt.Sprintf("bt%x", b), bob: bin}
	t.Cleanup(l.close)
	sw := l.ns("S")
	l.sh("ip netns add " + sw)
	l.sh("ip -n " + sw + " link add br0 type bridge")
	l.sh("ip -n " + sw + " link set br0 up")
	for _, h := range []struct{ name, ip string }{{"A", lanA}, {"B", lanB}, {"R", lanR}} {
		ns, dev := l.ns(h.name), l.prefix+h.name
		l.sh("ip netns add " + ns)
		l.sh(fmt.Sprintf("ip link add %s netns %s type veth peer name %sp netns %s", dev, ns, dev, sw))
		l.sh(fmt.Sprintf("ip -n %s link set %sp master br0", sw, dev))
		l.sh(fmt.Sprintf("ip -n %s link set %sp up", sw, dev))
		l.sh(fmt.Sprintf("ip -n %s addr add %s/24 dev %s", ns, h.ip, dev))
		l.sh(fmt.Sprintf("ip -n %s link set lo up", ns))
		l.sh(fmt.Sprintf("ip -n %s link set %s up", ns, dev))
		// A host's default route, which multicast follows too.
		l.sh(fmt.Sprintf("ip -n %s route add default dev %s", ns, dev))
		if h.name == "R" && relayRate != "" {
			for _, end := range [][2]string{{ns, dev}, {sw, dev + "p"}} {
				l.sh(fmt.Sprintf("ip netns exec %s tc qdisc add dev %s root tbf rate %s burst 32kbit latency 400ms", end[0], end[1], relayRate))
			}
		}
	}
	return l
}

func (l *lan) ns(host string) string { return l.prefix + host }

func (l *lan) sh(cmd string) {
	l.t.Helper()
	argv := strings.Fields(cmd)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if out, err := exec.CommandContext(ctx, argv[0], argv[1:]...).CombinedOutput(); err != nil {
		l.t.Fatalf("%s: %v: %s", cmd, err, out)
	}
}

// nft loads a ruleset into host's namespace.
func (l *lan) nft(host, rules string) {
	l.t.Helper()
	cmd := exec.Command("ip", "netns", "exec", l.ns(host), "nft", "-f", "-")
	cmd.Stdin = strings.NewReader(rules)
	if out, err := cmd.CombinedOutput(); err != nil {
		l.t.Fatalf("nft in %s: %v: %s", host, err, out)
	}
}

func (l *lan) close() {
	l.mu.Lock()
	for _, p := range l.procs {
		if p.ProcessState == nil {
			p.Process.Kill()
		}
	}
	l.mu.Unlock()
	for _, h := range []string{"A", "B", "R", "S"} {
		exec.Command("ip", "netns", "del", l.ns(h)).Run()
	}
}

// proc is a bob running on a host, its output kept.
type proc struct {
	cmd            *exec.Cmd
	stdin          io.WriteCloser // a keyboard that never answers, or a stream the test writes
	stdout, stderr syncBuffer
	done           chan struct{}
	err            error
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// start runs bob args on host, in dir; its stdin is a pipe the test may
// write, else it never answers.
func (l *lan) start(host, dir string, args ...string) *proc {
	l.t.Helper()
	return l.startProgram(host, dir, l.bob, args...)
}

// startProgram runs program on host, as start runs bob.
func (l *lan) startProgram(host, dir, program string, args ...string) *proc {
	l.t.Helper()
	p := &proc{done: make(chan struct{})}
	p.cmd = exec.Command("ip", append([]string{"netns", "exec", l.ns(host), program}, args...)...)
	p.cmd.Dir = dir
	p.cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "XDG_CONFIG_HOME=" + filepath.Join(dir, ".config")}
	p.cmd.Stdout, p.cmd.Stderr = &p.stdout, &p.stderr
	stdin, err := p.cmd.StdinPipe()
	if err != nil {
		l.t.Fatal(err)
	}
	p.stdin = stdin
	l.t.Cleanup(func() { stdin.Close() })
	if err := p.cmd.Start(); err != nil {
		l.t.Fatal(err)
	}
	l.mu.Lock()
	l.procs = append(l.procs, p.cmd)
	l.mu.Unlock()
	go func() { p.err = p.cmd.Wait(); close(p.done) }()
	return p
}

// wait waits (at most a minute) for p to end.
func (p *proc) wait(t *testing.T) error {
	t.Helper()
	select {
	case <-p.done:
		return p.err
	case <-time.After(time.Minute):
		p.cmd.Process.Kill()
		<-p.done
		t.Fatalf("bob did not finish in a minute:\nstdout:\n%s\nstderr:\n%s", p.stdout.String(), p.stderr.String())
		return nil
	}
}

var codeLine = regexp.MustCompile(`(?m)^code: (\S+)$`)

// code waits for a sender's code.
func (p *proc) code(t *testing.T) string {
	t.Helper()
	for range 1000 {
		if m := codeLine.FindStringSubmatch(p.stdout.String()); m != nil {
			return m[1]
		}
		select {
		case <-p.done:
			t.Fatalf("the sender ended before showing a code: %v\n%s\n%s", p.err, p.stdout.String(), p.stderr.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	t.Fatalf("no code within 20 s:\n%s", p.stdout.String())
	return ""
}

func writeRandom(t *testing.T, path string, n int64) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 1<<20)
	for n > 0 {
		rand.Read(buf)
		k := min(n, int64(len(buf)))
		if _, err := f.Write(buf[:k]); err != nil {
			t.Fatal(err)
		}
		n -= k
	}
}

func sameFile(t *testing.T, a, b string) {
	t.Helper()
	x, err := os.ReadFile(a)
	if err != nil {
		t.Fatal(err)
	}
	y, err := os.ReadFile(b)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(x, y) {
		t.Fatalf("%s and %s differ", a, b)
	}
}

// peers makes a sending and a receiving folder with one file of size n.
func peers(t *testing.T, n int64) (src, dst string) {
	src, dst = t.TempDir(), t.TempDir()
	writeRandom(t, filepath.Join(src, "data.bin"), n)
	return src, dst
}

// On one LAN with no relay configured anywhere, the receiver types only the
// code: it finds the sender by multicast DNS and the data goes direct.
func TestLANNoFlags(t *testing.T) {
	l := newLAN(t, "")
	src, dst := peers(t, 3<<20)
	sender := l.start("A", src, "send", "--plain", "data.bin")
	code := sender.code(t)
	if strings.Contains(sender.stdout.String(), "--relay") && !strings.Contains(sender.stdout.String(), "from another network") {
		t.Errorf("the sender asks for --relay on a LAN:\n%s", sender.stdout.String())
	}
	start := time.Now()
	recv := l.start("B", dst, "recv", "--plain", "--yes", code)
	if err := recv.wait(t); err != nil {
		t.Fatalf("bob recv: %v\n%s\n%s", err, recv.stdout.String(), recv.stderr.String())
	}
	if err := sender.wait(t); err != nil {
		t.Fatalf("bob send: %v\n%s", err, sender.stderr.String())
	}
	sameFile(t, filepath.Join(src, "data.bin"), filepath.Join(dst, "data.bin"))
	out := recv.stdout.String()
	if !strings.Contains(out, "connected directly to the other side ("+lanA) || !regexp.MustCompile(`(?m)^done: .*, direct`).MatchString(out) {
		t.Errorf("the receiver does not say direct:\n%s", out)
	}
	t.Logf("found by discovery and received directly in %v", time.Since(start).Round(time.Millisecond))
}

// Two senders on one LAN under the same nameplate (one may be a fake): the
// receiver spends no guess on either by chance, says so and logs both; the
// real sender still waits, and the address its screen shows works.
func TestLANTwoAnnouncementsSpendNoGuess(t *testing.T) {
	l := newLAN(t, "")
	src, dst := peers(t, 100_000)
	real := l.start("A", src, "send", "--plain", "--code", "42-orbit-lantern-quiet", "data.bin")
	real.code(t)
	fake := l.start("R", src, "send", "--plain", "--code", "42-other-words-here", "data.bin")
	fake.code(t)
	recv := l.start("B", dst, "recv", "--plain", "--yes", "42-orbit-lantern-quiet")
	err := recv.wait(t)
	if err == nil || !strings.Contains(recv.stderr.String(), "more senders on this network") {
		t.Fatalf("two announcements: err %v\n%s\n%s", err, recv.stdout.String(), recv.stderr.String())
	}
	if n := strings.Count(recv.stderr.String(), "announces this nameplate"); n != 2 {
		t.Errorf("%d announcements logged, want 2:\n%s", n, recv.stderr.String())
	}
	again := l.start("B", dst, "recv", "--plain", "--yes", "--relay", lanA+":9009", "42-orbit-lantern-quiet")
	if err := again.wait(t); err != nil {
		t.Fatalf("the real sender's code was spent: %v\n%s\n%s", err, again.stdout.String(), again.stderr.String())
	}
	if err := real.wait(t); err != nil {
		t.Fatal(err)
	}
	sameFile(t, filepath.Join(src, "data.bin"), filepath.Join(dst, "data.bin"))
}

// Multicast dropped on the receiver's host: it falls back to its relay
// settings and says clearly what to do.
func TestLANMulticastDropped(t *testing.T) {
	needNetns(t, "nft")
	l := newLAN(t, "")
	l.nft("B", `table inet drop_mdns {
	chain out { type filter hook output priority 0; udp dport 5353 drop; }
	chain in { type filter hook input priority 0; udp sport 5353 drop; }
}`)
	src, dst := peers(t, 1000)
	sender := l.start("A", src, "send", "--plain", "data.bin")
	code := sender.code(t)
	recv := l.start("B", dst, "recv", "--plain", "--yes", code)
	if err := recv.wait(t); err == nil {
		t.Fatal("received without discovery or relay")
	}
	msg := recv.stderr.String()
	if !strings.Contains(msg, "no sender with code number") || !strings.Contains(msg, "bob recv --relay") {
		t.Errorf("unclear message:\n%s", msg)
	}
	// The sender's screen shows the way from another network; it works.
	hint := regexp.MustCompile(`from another network: bob recv --relay (\S+)`).FindStringSubmatch(sender.stdout.String())
	if hint == nil {
		t.Fatalf("no relay shown for other networks:\n%s", sender.stdout.String())
	}
	again := l.start("B", dst, "recv", "--plain", "--yes", "--relay", hint[1], code)
	if err := again.wait(t); err != nil {
		t.Fatalf("%v\n%s", err, again.stderr.String())
	}
	if err := sender.wait(t); err != nil {
		t.Fatal(err)
	}
}

// relayOn runs bob relay on host R.
func (l *lan) relayOn(dir string) string {
	l.t.Helper()
	addr := lanR + ":9009"
	l.start("R", dir, "relay", "--listen", addr)
	return l.waitRelay(addr)
}

// waitRelay waits until A can connect to the relay at addr (on R).
func (l *lan) waitRelay(addr string) string {
	l.t.Helper()
	host, port, _ := strings.Cut(addr, ":")
	for range 250 {
		if exec.Command("ip", "netns", "exec", l.ns("A"), "bash", "-c", "exec 3<>/dev/tcp/"+host+"/"+port).Run() == nil {
			return addr
		}
		time.Sleep(20 * time.Millisecond)
	}
	l.t.Fatal("the relay did not start")
	return ""
}

// The relay sits behind a slow, far link (20 Mbit/s, and 40 ms each way
// added by a delaying proxy in front of it, as this kernel has no netem);
// the peers share a fast LAN: the data goes direct, at the LAN's speed.
func TestFarRelayDataGoesDirect(t *testing.T) {
	l := newLAN(t, "20mbit")
	relay := l.farRelayOn(t.TempDir(), 40*time.Millisecond)
	const size = 200 << 20
	elapsed := l.directTransfer(t, relay, size)
	t.Logf("200 MiB direct in %v: %.0f MB/s, the relay's link is 20 Mbit/s (2.5 MB/s) and 40 ms away", elapsed.Round(time.Millisecond), size/elapsed.Seconds()/1e6)
}

// farRelayOn runs a relay on R's loopback behind a proxy on R's LAN address
// that delays each direction by delay, and returns the proxy's address.
func (l *lan) farRelayOn(dir string, delay time.Duration) string {
	l.t.Helper()
	proxy, err := exec.LookPath("bob-delay-proxy") // installed by TestMain
	if err != nil {
		l.t.Fatal(err)
	}
	l.startProgram("R", dir, proxy, lanR+":9009", "127.0.0.1:9010", delay.String())
	l.start("R", dir, "relay", "--listen", "127.0.0.1:9010")
	return l.waitRelay(lanR + ":9009")
}

// directTransfer sends size random bytes from A to B meeting at relay,
// checks they arrived whole and went direct, and returns how long the
// receiver took.
func (l *lan) directTransfer(t *testing.T, relay string, size int64) time.Duration {
	t.Helper()
	src, dst := peers(t, size)
	sender := l.start("A", src, "send", "--plain", "--relay", relay, "data.bin")
	code := sender.code(t)
	start := time.Now()
	recv := l.start("B", dst, "recv", "--plain", "--yes", "--relay", relay, code)
	if err := recv.wait(t); err != nil {
		t.Fatalf("%v\n%s\n%s", err, recv.stdout.String(), recv.stderr.String())
	}
	elapsed := time.Since(start)
	if err := sender.wait(t); err != nil {
		t.Fatal(err)
	}
	sameFile(t, filepath.Join(src, "data.bin"), filepath.Join(dst, "data.bin"))
	if !regexp.MustCompile(`(?m)^done: .*, direct`).MatchString(recv.stdout.String()) {
		t.Fatalf("not direct:\n%s", recv.stdout.String())
	}
	return elapsed
}

// A firewall drops TCP between the peers: the transfer completes over the
// relay, after the direct window.
func TestFirewalledPeersUseRelay(t *testing.T) {
	needNetns(t, "nft")
	l := newLAN(t, "")
	relay := l.relayOn(t.TempDir())
	for host, other := range map[string]string{"A": lanB, "B": lanA} {
		l.nft(host, fmt.Sprintf(`table inet fw {
	chain in { type filter hook input priority 0; ip saddr %s meta l4proto tcp drop; }
}`, other))
	}
	withDirect, relayOnly := l.relayFallback(t, relay)
	t.Logf("firewalled: %v with direct tried, %v with --no-direct: the window cost %v", withDirect.Round(time.Millisecond), relayOnly.Round(time.Millisecond), (withDirect - relayOnly).Round(time.Millisecond))
}

// relayFallback sends a file from A to B through relay twice, trying direct
// paths and then with --no-direct, checks that the first went via the relay
// all the same, and returns both durations: their difference is what the
// direct window cost.
func (l *lan) relayFallback(t *testing.T, relay string) (withDirect, relayOnly time.Duration) {
	t.Helper()
	src, dst := peers(t, 1<<20)
	timed := func(extra ...string) (time.Duration, string) {
		sender := l.start("A", src, append([]string{"send", "--plain", "--relay", relay}, append(extra, "data.bin")...)...)
		code := sender.code(t)
		start := time.Now()
		recv := l.start("B", dst, append([]string{"recv", "--plain", "--yes", "--overwrite", "--relay", relay}, append(extra, code)...)...)
		if err := recv.wait(t); err != nil {
			t.Fatalf("%v\n%s\n%s", err, recv.stdout.String(), recv.stderr.String())
		}
		if err := sender.wait(t); err != nil {
			t.Fatal(err)
		}
		sameFile(t, filepath.Join(src, "data.bin"), filepath.Join(dst, "data.bin"))
		return time.Since(start), recv.stdout.String()
	}
	withDirect, out := timed()
	if !regexp.MustCompile(`(?m)^done: .*, via relay ` + regexp.QuoteMeta(relay)).MatchString(out) {
		t.Fatalf("not via the relay:\n%s", out)
	}
	relayOnly, _ = timed("--no-direct")
	return withDirect, relayOnly
}
