package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cavaliergopher/cpio"
	"go.uber.org/goleak"

	"github.com/bob-p2p/bob/relay/rendezvous"
)

// The VM test boots the real image under qemu and moves data through the
// relay inside it. Without KVM (as in CI) qemu emulates the CPU, so every
// wait here is generous but bounded.

// imageBuild is the image built once for all tests of this package.
var imageBuild struct {
	once sync.Once
	r    result
	err  error
}

// testCache keeps downloaded kernels between test runs, like the builder.
func testCache() string {
	if dir := os.Getenv("BOB_IMAGE_CACHE"); dir != "" {
		return dir
	}
	return defaultCache()
}

// builtImage builds the image the first time it is called in this process.
func builtImage(t *testing.T) result {
	t.Helper()
	imageBuild.once.Do(func() {
		dir, err := os.MkdirTemp("", "bob-relay-image-")
		if err != nil {
			imageBuild.err = err
			return
		}
		start := time.Now()
		imageBuild.r, imageBuild.err = runBuilder(dir)
		t.Logf("image built in %s", time.Since(start).Round(time.Millisecond))
	})
	if imageBuild.err != nil {
		t.Fatalf("building the image: %v", imageBuild.err)
	}
	return imageBuild.r
}

// runBuilder builds the image into dir with the documented command,
// go run ./relay/image, in a process of its own: under go test -race,
// packing the initramfs in the race-instrumented test binary would take
// five times longer.
func runBuilder(dir string) (result, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	r := result{Dir: dir, Checksums: map[string]string{}}
	root, err := moduleRoot(ctx)
	if err != nil {
		return r, err
	}
	cmd := exec.CommandContext(ctx, goTool(), "run", "./relay/image", "-out", dir, "-cache", testCache())
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return r, fmt.Errorf("go run ./relay/image: %w\n%s", err, out)
	}
	sums, err := os.ReadFile(filepath.Join(dir, "SHA256SUMS"))
	if err != nil {
		return r, err
	}
	for line := range strings.Lines(string(sums)) {
		sum, name, ok := strings.Cut(strings.TrimSpace(line), "  ")
		if !ok {
			return r, fmt.Errorf("SHA256SUMS line %q", line)
		}
		r.Checksums[name] = sum
		r.Files = append(r.Files, name)
	}
	if len(r.Files) != 3 {
		return r, fmt.Errorf("SHA256SUMS lists %q, want vmlinuz, initramfs and run.sh", r.Files)
	}
	return r, nil
}

func TestMain(m *testing.M) {
	code := m.Run()
	if imageBuild.r.Dir != "" {
		os.RemoveAll(imageBuild.r.Dir)
	}
	if code == 0 {
		// Every qemu, bob process, connection and reader is gone.
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "leaked goroutines:", err)
			code = 1
		}
	}
	os.Exit(code)
}

func TestBuildIsReproducible(t *testing.T) {
	first := builtImage(t)
	again, err := runBuilder(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"vmlinuz", "initramfs", "run.sh", "SHA256SUMS"} {
		if f != "SHA256SUMS" && (first.Checksums[f] == "" || first.Checksums[f] != again.Checksums[f]) {
			t.Errorf("%s differs between two builds: %s vs %s", f, first.Checksums[f], again.Checksums[f])
		}
		a, errA := os.ReadFile(filepath.Join(first.Dir, f))
		b, errB := os.ReadFile(filepath.Join(again.Dir, f))
		if errA != nil || errB != nil || !bytes.Equal(a, b) {
			t.Errorf("%s: the files differ (%v, %v)", f, errA, errB)
		}
	}
}

// console collects the guest's console, each line stamped with the time
// since qemu started, so that a slow boot shows where the time went.
type console struct {
	mu      sync.Mutex
	start   time.Time
	partial []byte
	b       bytes.Buffer
}

func (c *console) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.partial = append(c.partial, p...)
	for {
		i := bytes.IndexByte(c.partial, '\n')
		if i < 0 {
			break
		}
		fmt.Fprintf(&c.b, "%7.3fs %s\n", time.Since(c.start).Seconds(), bytes.TrimRight(c.partial[:i], "\r"))
		c.partial = c.partial[i+1:]
	}
	return len(p), nil
}

func (c *console) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.b.String() + string(c.partial)
}

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
}

// vm is a running appliance.
type vm struct {
	relay, metrics string // host addresses forwarded into the guest
	console        *console
	monitor        io.Writer // qemu's stdin: the console, and Ctrl-A c for the monitor
	started        time.Time
	exited         chan struct{}
	kill           func() // kills qemu and waits for it
}

// kvmBootTimeout is how long a boot with KVM may take before the test
// gives up on KVM: a working KVM boots the image in about a second, while
// nested virtualisation can offer /dev/kvm and then fail to run the guest
// (qemu aborting on an MSR it cannot set, or a guest that never starts).
const kvmBootTimeout = 15 * time.Second

// bootReady boots the image as the launch script does, with KVM where
// /dev/kvm can be opened and by emulation otherwise or if KVM cannot run
// it, and waits until the relay in the guest answers.
func bootReady(t *testing.T, ctx context.Context, qemu string, r result, netSetting string) *vm {
	t.Helper()
	if f, err := os.OpenFile("/dev/kvm", os.O_RDWR, 0); err == nil {
		f.Close()
		kctx, cancel := context.WithTimeout(ctx, kvmBootTimeout)
		v := bootVM(t, qemu, r, netSetting, kvmAccel)
		err := v.ready(kctx)
		cancel()
		if err == nil {
			return v
		}
		v.kill()
		t.Logf("KVM did not boot the image (%v); booting it by emulation instead. The KVM attempt's console:\n%s", err, v.console.String())
	}
	v := bootVM(t, qemu, r, netSetting, tcgAccel)
	if err := v.ready(ctx); err != nil {
		t.Fatal(err)
	}
	return v
}

// bootVM starts the image under qemu with the launch script's command
// line. qemu is killed when the test ends, whatever happened.
func bootVM(t *testing.T, qemu string, r result, netSetting string, accel []string) *vm {
	t.Helper()
	relayPort, metricsPort := freePort(t), freePort(t)
	args := qemuArgs(launch{
		Kernel:      filepath.Join(r.Dir, "vmlinuz"),
		Initrd:      filepath.Join(r.Dir, "initramfs"),
		RelayHost:   "127.0.0.1",
		RelayPort:   relayPort,
		MetricsPort: metricsPort,
		Cmdline:     kernelCmdline(netSetting, defaultRelayFlags),
		Memory:      "128",
		Accel:       accel,
	})
	v := &vm{
		relay:   "127.0.0.1:" + relayPort,
		metrics: "127.0.0.1:" + metricsPort,
		console: &console{},
		exited:  make(chan struct{}),
	}
	cmd := exec.Command(qemu, args...)
	cmd.Stdout = v.console
	cmd.Stderr = v.console
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	v.monitor = stdin
	v.started = time.Now()
	v.console.start = v.started
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting qemu: %v", err)
	}
	go func() {
		cmd.Wait() //nolint:errcheck // qemu is killed; its exit status says nothing
		close(v.exited)
	}()
	v.kill = func() {
		cmd.Process.Kill() //nolint:errcheck // it may have exited already
		<-v.exited
	}
	t.Cleanup(func() {
		v.kill()
		if t.Failed() || testing.Verbose() {
			t.Logf("guest console:\n%s", v.console.String())
		}
	})
	return v
}

// ready waits until the relay in the guest answers a real rendezvous:
// qemu accepts forwarded connections before anything listens in the guest,
// so a TCP connect proves nothing.
func (v *vm) ready(ctx context.Context) error {
	var lastErr error
	for attempt := 0; ; attempt++ {
		select {
		case <-v.exited:
			return fmt.Errorf("qemu exited before the relay was ready (last probe: %v)", lastErr)
		default:
		}
		if ctx.Err() != nil {
			return fmt.Errorf("the relay in the VM was not ready after %s and %d probes: %v",
				time.Since(v.started).Round(time.Millisecond), attempt, lastErr)
		}
		lastErr = probe(ctx, v.relay)
		if lastErr == nil {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// probe opens a nameplate and lets it go. Until the guest listens, qemu
// holds a forwarded connection open without an answer, so each probe is
// short and the next one starts afresh.
func probe(ctx context.Context, addr string) error {
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	defer c.Close()
	plate, err := rendezvous.Open(ctx, c, "", "")
	if err != nil {
		return err
	}
	if plate == "" {
		return errors.New("the relay assigned an empty nameplate")
	}
	return nil
}

const transferSize = 16 << 20

func TestApplianceVM(t *testing.T) {
	qemu, err := exec.LookPath("qemu-system-x86_64")
	if err != nil {
		t.Skip("qemu-system-x86_64 is not installed (Debian: apt-get install qemu-system-x86), so the appliance cannot be booted")
	}
	r := builtImage(t)

	// The launch script's default: DHCP from qemu's user network. The full
	// check: a 16 MiB transfer and the relay's metrics.
	t.Run("dhcp", func(t *testing.T) {
		t.Parallel()
		ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
		defer cancel()
		v := bootReady(t, ctx, qemu, r, defaultNet)
		t.Logf("relay in the VM ready %s after qemu started", time.Since(v.started).Round(time.Millisecond))
		v.expectConsole(t, `msg="network up" iface=eth0 addr=10.0.2.15/24`, "by=dhcp")

		bob := hostBob(t, r)
		took := cliTransfer(t, ctx, bob, v.relay, transferSize)
		t.Logf("bob send -> bob recv of %d MiB through the relay in the VM took %s (%.1f MiB/s)",
			transferSize>>20, took.Round(time.Millisecond), float64(transferSize)/(1<<20)/took.Seconds())

		m := scrape(t, ctx, v.metrics)
		if got := m["bob_relay_pairings_total"]; got < 1 {
			t.Errorf("bob_relay_pairings_total = %v, want at least 1", got)
		}
		if got := m["bob_relay_bytes_total"]; got < transferSize {
			t.Errorf("bob_relay_bytes_total = %v, want at least %d", got, transferSize)
		}
		t.Logf("guest relay process: resident memory %.1f MiB, Go heap in use %.1f MiB",
			m["process_resident_memory_bytes"]/(1<<20), m["go_memstats_heap_inuse_bytes"]/(1<<20))
		v.logConsole(t, `msg="appliance up"`)

		// A graceful shutdown, as a hypervisor asks for it: the ACPI
		// power button stops the relay, and the machine powers off.
		v.powerDown(t, ctx)
		v.expectConsole(t, "power button pressed")
		v.expectConsole(t, `msg="relay ended" exit_code=0`)
	})

	// A static address from the kernel command line.
	t.Run("static", func(t *testing.T) {
		t.Parallel()
		ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
		defer cancel()
		v := bootReady(t, ctx, qemu, r, "bob.ip=10.0.2.15/24 bob.gw=10.0.2.2")
		v.expectConsole(t, `msg="network up" iface=eth0 addr=10.0.2.15/24 gw=10.0.2.2`, "by=static")
		sent, received, _ := transfer(t, ctx, v.relay, 1<<20)
		if sent != received {
			t.Fatalf("data changed on its way through the relay: sent sha256 %x, received %x", sent, received)
		}
		if got := scrape(t, ctx, v.metrics)["bob_relay_pairings_total"]; got < 1 {
			t.Errorf("bob_relay_pairings_total = %v, want at least 1", got)
		}
	})
}

// powerDown presses the VM's power button through qemu's monitor (Ctrl-A c
// switches the -nographic console to it) and waits for qemu to exit.
func (v *vm) powerDown(t *testing.T, ctx context.Context) {
	t.Helper()
	if _, err := io.WriteString(v.monitor, "\x01csystem_powerdown\n"); err != nil {
		t.Fatalf("writing to qemu's monitor: %v", err)
	}
	select {
	case <-v.exited:
	case <-ctx.Done():
		t.Fatal("the VM did not power off after its power button was pressed")
	}
}

// expectConsole fails the test unless one console line holds all of parts.
func (v *vm) expectConsole(t *testing.T, parts ...string) {
	t.Helper()
	for line := range strings.Lines(v.console.String()) {
		all := true
		for _, p := range parts {
			all = all && strings.Contains(line, p)
		}
		if all {
			return
		}
	}
	t.Errorf("the guest console has no line with %q", parts)
}

// logConsole logs the console lines that contain s.
func (v *vm) logConsole(t *testing.T, s string) {
	t.Helper()
	for line := range strings.Lines(v.console.String()) {
		if strings.Contains(line, s) {
			t.Logf("guest: %s", strings.TrimSpace(line))
		}
	}
}

// transfer pairs two rendezvous clients through the relay at addr and sends
// n pseudo-random bytes from one to the other, which the relay forwards
// verbatim. It returns the SHA-256 of what was sent and of what arrived.
func transfer(t *testing.T, ctx context.Context, addr string, n int64) (sent, received [32]byte, took time.Duration) {
	t.Helper()
	var d net.Dialer
	sc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Close()
	plate, err := rendezvous.Open(ctx, sc, "", "")
	if err != nil {
		t.Fatalf("sender: %v", err)
	}
	rc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	// A connection stuck in the guest must not outlive the test's budget.
	stop := context.AfterFunc(ctx, func() {
		sc.SetDeadline(time.Now()) //nolint:errcheck
		rc.SetDeadline(time.Now()) //nolint:errcheck
	})
	defer stop()

	start := time.Now()
	claimed := make(chan error, 1)
	go func() { claimed <- rendezvous.Claim(ctx, rc, plate, "") }()
	if err := rendezvous.WaitPaired(ctx, sc); err != nil {
		t.Fatalf("sender waiting for the receiver: %v", err)
	}
	if err := <-claimed; err != nil {
		t.Fatalf("receiver claiming nameplate %s: %v", plate, err)
	}

	type readResult struct {
		sum [32]byte
		n   int64
		err error
	}
	got := make(chan readResult, 1)
	go func() {
		h := sha256.New()
		m, err := io.Copy(h, rc)
		var res readResult
		res.n, res.err = m, err
		copy(res.sum[:], h.Sum(nil))
		got <- res
	}()
	h := sha256.New()
	src := io.LimitReader(rand.NewChaCha8([32]byte{'b', 'o', 'b'}), n)
	if _, err := io.Copy(io.MultiWriter(sc, h), src); err != nil {
		t.Fatalf("sending through the relay: %v", err)
	}
	if err := sc.(*net.TCPConn).CloseWrite(); err != nil {
		t.Fatal(err)
	}
	res := <-got
	took = time.Since(start)
	if res.err != nil {
		t.Fatalf("receiving through the relay: %v after %d bytes", res.err, res.n)
	}
	if res.n != n {
		t.Fatalf("received %d bytes, sent %d", res.n, n)
	}
	copy(sent[:], h.Sum(nil))
	return sent, res.sum, took
}

// hostBob returns a bob for the host: the image's own /init when the host
// can run it, else a fresh build.
func hostBob(t *testing.T, r result) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "bob")
	if runtime.GOOS == "linux" && runtime.GOARCH == "amd64" {
		f, err := os.Open(filepath.Join(r.Dir, "initramfs"))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		zr, err := gzip.NewReader(f)
		if err != nil {
			t.Fatal(err)
		}
		cr := cpio.NewReader(zr)
		for {
			hdr, err := cr.Next()
			if err != nil {
				t.Fatalf("no /init in the initramfs: %v", err)
			}
			if hdr.Name != "init" {
				continue
			}
			w, err := os.OpenFile(out, os.O_CREATE|os.O_WRONLY|os.O_EXCL, 0o755)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := io.Copy(w, cr); err != nil {
				t.Fatal(err)
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			return out
		}
	}
	cmd := exec.Command(goTool(), "build", "-o", out, "./cmd/bob")
	cmd.Dir = filepath.Join("..", "..")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building bob for the host: %v\n%s", err, b)
	}
	return out
}

// cliTransfer sends an n-byte file with `bob send` and receives it with
// `bob recv`, two real processes meeting at the relay at addr, and checks
// that the received file has the same SHA-256.
func cliTransfer(t *testing.T, ctx context.Context, bob, relayAddr string, n int64) time.Duration {
	t.Helper()
	dir := t.TempDir()
	src := filepath.Join(dir, "payload.bin")
	f, err := os.Create(src)
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.New()
	// Pseudo-random, so that compression cannot shrink what crosses the relay.
	if _, err := io.Copy(io.MultiWriter(f, h), io.LimitReader(rand.NewChaCha8([32]byte{'b', 'o', 'b'}), n)); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	want := h.Sum(nil)
	dst := filepath.Join(dir, "received")
	if err := os.Mkdir(dst, 0o755); err != nil {
		t.Fatal(err)
	}
	env := append(os.Environ(), "XDG_CONFIG_HOME="+filepath.Join(dir, "config"), "HOME="+dir, "BOB_RELAY=", "BOB_NO_DISCOVERY=1") // multicast nothing on the machine's network

	start := time.Now()
	sendOut := &console{start: start}
	send := exec.CommandContext(ctx, bob, "send", "--plain", "--relay", relayAddr, src)
	send.Env, send.Stdout, send.Stderr = env, sendOut, sendOut
	send.WaitDelay = 5 * time.Second
	if err := send.Start(); err != nil {
		t.Fatal(err)
	}
	sent := make(chan error, 1)
	go func() { sent <- send.Wait() }()
	defer func() {
		send.Process.Kill() //nolint:errcheck // it has usually exited already
		<-sent
		if t.Failed() {
			t.Logf("bob send:\n%s", sendOut.String())
		}
	}()

	// The code appears once the relay has assigned a nameplate.
	var code string
	for code == "" {
		select {
		case err := <-sent:
			sent <- err
			t.Fatalf("bob send exited before printing a code: %v", err)
		case <-ctx.Done():
			t.Fatal("bob send printed no code")
		case <-time.After(50 * time.Millisecond):
		}
		for line := range strings.Lines(sendOut.String()) {
			if _, c, ok := strings.Cut(line, " code: "); ok {
				code = strings.TrimSpace(c)
			}
		}
	}

	recvOut := &console{start: start}
	recv := exec.CommandContext(ctx, bob, "recv", "--plain", "--yes", "--relay", relayAddr, "--out", dst, code)
	recv.Env, recv.Stdout, recv.Stderr = env, recvOut, recvOut
	recv.WaitDelay = 5 * time.Second
	if err := recv.Run(); err != nil {
		t.Fatalf("bob recv: %v\n%s", err, recvOut.String())
	}
	if err := <-sent; err != nil {
		sent <- err
		t.Fatalf("bob send: %v", err)
	}
	sent <- nil
	took := time.Since(start)

	got, err := os.Open(filepath.Join(dst, "payload.bin"))
	if err != nil {
		t.Fatalf("bob recv wrote no payload.bin: %v", err)
	}
	defer got.Close()
	h.Reset()
	if _, err := io.Copy(h, got); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(h.Sum(nil), want) {
		t.Fatalf("the received file differs: sha256 %x, sent %x", h.Sum(nil), want)
	}
	return took
}

// scrape reads the relay's metrics in Prometheus text format and returns the
// unlabelled samples.
func scrape(t *testing.T, ctx context.Context, addr string) map[string]float64 {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/metrics", nil)
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("reading the relay's metrics from the VM: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("metrics: %s", resp.Status)
	}
	m := map[string]float64{}
	s := bufio.NewScanner(io.LimitReader(resp.Body, 4<<20))
	for s.Scan() {
		line := s.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		name, value, ok := strings.Cut(line, " ")
		if !ok || strings.Contains(name, "{") {
			continue
		}
		f, err := strconv.ParseFloat(strings.TrimSpace(value), 64)
		if err != nil {
			t.Fatalf("metrics line %q: %v", line, err)
		}
		m[name] = f
	}
	if err := s.Err(); err != nil {
		t.Fatal(err)
	}
	if len(m) == 0 {
		t.Fatal("the relay's metrics page has no samples")
	}
	return m
}
