//go:build linux

package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestUsageFromRusage(t *testing.T) {
	ru := &syscall.Rusage{
		Utime:  syscall.Timeval{Sec: 1, Usec: 250000},
		Stime:  syscall.Timeval{Sec: 0, Usec: 500000},
		Maxrss: 30 * 1024, // KiB on Linux
	}
	u := usageFromRusage(ru)
	if u.UserSeconds != 1.25 || u.SysSeconds != 0.5 || u.CPUSeconds != 1.75 || u.MaxRSSMiB != 30 {
		t.Errorf("usage = %+v", u)
	}
	if u := usageFromRusage(nil); u != (usage{}) {
		t.Errorf("nil rusage gave %+v", u)
	}
}

func TestLineWatcher(t *testing.T) {
	w := newLineWatcher("code:")
	for _, chunk := range []string{"connecting to relay\nco", "de: 7-bench-", "random-data\r\nnext line\ncode: second\n"} {
		if n, err := w.Write([]byte(chunk)); n != len(chunk) || err != nil {
			t.Fatalf("Write = %d, %v", n, err)
		}
	}
	select {
	case got := <-w.found:
		if got != "7-bench-random-data" {
			t.Errorf("found %q", got)
		}
	default:
		t.Fatal("code line not found")
	}
	select {
	case got := <-w.found:
		t.Errorf("found a second line %q", got)
	default:
	}

	// A huge line is dropped, not kept, and the watcher still works after it.
	w = newLineWatcher("code:")
	w.Write([]byte("code: " + strings.Repeat("x", 3*maxWatchedLine)))
	w.Write([]byte("\nnot it\ncode: ok\n"))
	if len(w.line) > maxWatchedLine {
		t.Errorf("watcher holds %d bytes", len(w.line))
	}
	select {
	case got := <-w.found:
		if got != "ok" {
			t.Errorf("after a huge line, found %q", got)
		}
	default:
		t.Error("code line after a huge line not found")
	}
}

func TestProcLogExcerpt(t *testing.T) {
	l, err := newProcLog(filepath.Join(t.TempDir(), "x.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if got := l.excerpt(); got != "" {
		t.Errorf("empty log excerpt = %q", got)
	}
	for i := range 1000 {
		fmt.Fprintf(l, "line %d\n", i)
	}
	got := l.excerpt()
	if !strings.Contains(got, "line 999") || strings.Contains(got, "line 990") || len(l.tail) > logTailSize {
		t.Errorf("excerpt = %q (tail %d bytes)", got, len(l.tail))
	}
}

func TestProcLifecycle(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	ctx := context.Background()
	newLog := func() *procLog {
		l, err := newProcLog("")
		if err != nil {
			t.Fatal(err)
		}
		return l
	}

	// Exits by itself; output reaches the watcher; rusage is collected.
	w := newLineWatcher("code:")
	p, err := startProc(ctx, "echo", []string{sh, "-c", "echo code: 1-abc; echo oops >&2; exit 3"}, newLog(), w, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := waitLine(ctx, w, p); err != nil || got != "1-abc" {
		t.Errorf("waitLine = %q, %v", got, err)
	}
	err = p.wait(ctx)
	if err == nil || !strings.Contains(err.Error(), "oops") {
		t.Errorf("failed child: err = %v, want its exit and output", err)
	}
	if u, err := p.usage(); err != nil || u.MaxRSSMiB <= 0 {
		t.Errorf("no rusage: %+v, %v", u, err)
	}

	// A child that ignores SIGTERM is killed, with its whole group.
	p, err = startProc(ctx, "stubborn", []string{sh, "-c", "trap '' TERM; sleep 60 & wait"}, newLog(), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	start := time.Now()
	if err := p.stop(200 * time.Millisecond); err == nil || !strings.Contains(err.Error(), "killed") {
		t.Errorf("stop = %v, want killed", err)
	}
	if time.Since(start) > 10*time.Second {
		t.Error("stop took too long")
	}
	// A killed member may linger briefly as a zombie until it is reaped.
	for i := 0; syscall.Kill(-p.cmd.Process.Pid, 0) == nil; i++ {
		if i == 500 {
			t.Fatal("the process group survived")
		}
		time.Sleep(10 * time.Millisecond)
	}

	// SIGTERM honoured counts as a clean stop.
	p, err = startProc(ctx, "sleeper", []string{sh, "-c", "exec sleep 60"}, newLog(), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.stop(10 * time.Second); err != nil {
		t.Errorf("stop = %v", err)
	}

	// The context ending kills the child.
	cctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	p, err = startProc(cctx, "sleeper", []string{sh, "-c", "exec sleep 60"}, newLog(), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.wait(cctx); err == nil {
		t.Error("wait after the deadline returned nil")
	}

	// A line never printed: waitLine reports the exit.
	w = newLineWatcher("code:")
	p, err = startProc(ctx, "silent", []string{sh, "-c", "echo nothing"}, newLog(), w, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := waitLine(ctx, w, p); err == nil || !strings.Contains(err.Error(), "exited before") {
		t.Errorf("waitLine = %v", err)
	}
}

func TestStoppedByTerm(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	run := func(script string) error { return exec.Command(sh, "-c", script).Run() }
	if !stoppedByTerm(nil) || !stoppedByTerm(run("exit 130")) || !stoppedByTerm(run("exit 143")) || !stoppedByTerm(run("kill -TERM $$")) {
		t.Error("a SIGTERM exit was not recognised")
	}
	if stoppedByTerm(run("exit 1")) || stoppedByTerm(run("kill -KILL $$")) {
		t.Error("a failure counted as a SIGTERM exit")
	}
}

func TestIsListening(t *testing.T) {
	// /proc/net/tcp on a little-endian machine; 0x1F90 = 8080, 0x2328 = 9000.
	table := `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1 0000000000000000 100 0 0 10 0
   1: 0100007F:2328 0100007F:A000 01 00000000:00000000 00:00000000 00000000     0        0 2 1 0000000000000000 100 0 0 10 0
   2: 00000000:1F91 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 3 1 0000000000000000 100 0 0 10 0
`
	lo := net.IPv4(127, 0, 0, 1)
	if !isListening(table, lo, 8080) {
		t.Error("127.0.0.1:8080 not seen listening")
	}
	if isListening(table, lo, 9000) {
		t.Error("an established socket counted as listening")
	}
	if !isListening(table, net.IPv4(10, 1, 2, 3), 8081) {
		t.Error("a wildcard listener not seen")
	}
	if isListening(table, net.IPv4(10, 1, 2, 3), 8080) || isListening(table, net.ParseIP("::1"), 8080) || isListening("", lo, 8080) {
		t.Error("a listener seen where there is none")
	}

	// And against the kernel's own table.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	b, err := os.ReadFile("/proc/self/net/tcp")
	if err != nil {
		ln.Close()
		t.Skip("no /proc:", err)
	}
	if !isListening(string(b), lo, port) {
		t.Errorf("own listener on %d not found", port)
	}
	ln.Close()
	b, _ = os.ReadFile("/proc/self/net/tcp")
	if isListening(string(b), lo, port) {
		t.Errorf("closed listener on %d still found", port)
	}
}

func TestParentFromStat(t *testing.T) {
	for stat, want := range map[string]int{
		"123 (bob) S 45 123 123 0 -1 4194560 100":      45,
		"123 (a b) c)) R 7 123 123 0 -1 4194560 100":   7,
		"1 (systemd) S 0 1 1 0 -1 4194560 44650 0 0 0": 0,
	} {
		if got, ok := parentFromStat(stat); !ok || got != want {
			t.Errorf("parentFromStat(%q) = %d, %v; want %d", stat, got, ok, want)
		}
	}
	for _, bad := range []string{"", "123 (bob", "123 (bob) S", "123 (bob) S x"} {
		if _, ok := parentFromStat(bad); ok {
			t.Errorf("parentFromStat(%q) accepted", bad)
		}
	}
	// This test's own child is found.
	cmd := exec.Command("sleep", "10")
	if err := cmd.Start(); err != nil {
		t.Skip("no sleep:", err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	if kids := childPIDs(os.Getpid()); !slices.Contains(kids, cmd.Process.Pid) {
		t.Errorf("childPIDs = %v, want %d among them", kids, cmd.Process.Pid)
	}
}

func TestWatchFirstByte(t *testing.T) {
	dir := t.TempDir()
	if hasData(dir) || hasData(filepath.Join(dir, "missing")) {
		t.Fatal("empty directory has data")
	}
	ctx, cancel := context.WithCancel(context.Background())
	start := time.Now()
	ch := watchFirstByte(ctx, dir, start)
	sub := filepath.Join(dir, "a", "b")
	if err := os.MkdirAll(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(sub, "empty.bob-part"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	time.Sleep(20 * time.Millisecond)
	wrote := time.Now()
	if err := os.WriteFile(filepath.Join(sub, "x.bob-part"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	select {
	case d := <-ch:
		if d < wrote.Sub(start) {
			t.Errorf("first byte at %v, before it was written (%v)", d, wrote.Sub(start))
		}
	case <-time.After(10 * time.Second):
		t.Fatal("first byte never seen")
	}
	cancel()

	// Ending the context ends the watcher, which says it saw nothing.
	ctx, cancel = context.WithCancel(context.Background())
	ch = watchFirstByte(ctx, t.TempDir(), time.Now())
	cancel()
	select {
	case d := <-ch:
		if d != -1 {
			t.Errorf("cancelled watcher sent %v", d)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("watcher did not end")
	}
}

func TestCPUModel(t *testing.T) {
	x86 := "processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC   7B13 64-Core Processor\nflags\t\t: fpu\n\nprocessor\t: 1\nmodel name\t: other\n"
	if got := cpuModel(x86); got != "AMD EPYC 7B13 64-Core Processor" {
		t.Errorf("x86: %q", got)
	}
	arm := "processor\t: 0\nBogoMIPS\t: 48.00\n\nHardware\t: BCM2835\nModel\t\t: Raspberry Pi 4 Model B Rev 1.4\n"
	if got := cpuModel(arm); got != "BCM2835" {
		t.Errorf("arm: %q", got)
	}
	if got := cpuModel("garbage"); got != "" {
		t.Errorf("garbage: %q", got)
	}
	m := describeMachine("go1.99")
	if m.Cores < 1 || m.Go != "go1.99" || m.CPU == "" || m.OS == "" {
		t.Errorf("machine = %+v", m)
	}
}

func TestLoadAverage(t *testing.T) {
	if got := parseLoadAvg("0.52 0.58 0.59 1/467 12345\n"); got != 0.52 {
		t.Errorf("parseLoadAvg = %v", got)
	}
	for _, bad := range []string{"", "x 1 2", "-1 0 0"} {
		if got := parseLoadAvg(bad); got != -1 {
			t.Errorf("parseLoadAvg(%q) = %v, want -1", bad, got)
		}
	}
	if n := busyNote(machine{Cores: 2, LoadStart: 0.3, LoadEnd: 0.9}); n != "" {
		t.Errorf("idle machine called busy: %s", n)
	}
	if n := busyNote(machine{Cores: 2, LoadStart: 0.3, LoadEnd: 3.5}); n != "" {
		t.Errorf("the benchmark's own load at the end called other work: %s", n)
	}
	if n := busyNote(machine{Cores: 2, LoadStart: 1.5, LoadEnd: 1.9}); !strings.Contains(n, "busy") {
		t.Errorf("busy machine not noted: %q", n)
	}
}

func TestNetnsPlan(t *testing.T) {
	found := func(string) (string, error) { return "/usr/sbin/x", nil }
	missing := func(name string) (string, error) {
		if name == "tc" {
			return "", exec.ErrNotFound
		}
		return "/usr/sbin/" + name, nil
	}
	if why := netnsUnavailable(1000, found); !strings.Contains(why, "root") {
		t.Errorf("non-root: %q", why)
	}
	if why := netnsUnavailable(0, missing); !strings.Contains(why, "iproute2") {
		t.Errorf("no tc: %q", why)
	}
	if why := netnsUnavailable(0, found); why != "" {
		t.Errorf("root with tools: %q", why)
	}

	all := ""
	names := namesFor(netnsPrefix)
	for _, argv := range names.setupCommands() {
		all += strings.Join(argv, " ") + "\n"
	}
	for _, want := range []string{
		"ip netns add bobbenchA\n", "ip netns add bobbenchB\n",
		"ip -n bobbenchA addr add 10.213.77.1/24 dev bobbenchA0\n",
		"ip -n bobbenchB addr add 10.213.77.2/24 dev bobbenchB0\n",
		"ip netns exec bobbenchA tc qdisc add dev bobbenchA0 root tbf rate 100mbit burst 32kbit latency 400ms\n",
		"ip netns exec bobbenchB tc qdisc add dev bobbenchB0 root tbf rate 100mbit burst 32kbit latency 400ms\n",
	} {
		if !strings.Contains(all, want) {
			t.Errorf("setup lacks %q", want)
		}
	}
	// Addresses only ever inside the namespaces: every addr command uses -n.
	for _, argv := range names.setupCommands() {
		s := strings.Join(argv, " ")
		if strings.Contains(s, " addr ") && !strings.HasPrefix(s, "ip -n bobbench") {
			t.Errorf("address set outside a namespace: %s", s)
		}
	}
	for _, argv := range names.cleanupCommands() {
		if !strings.HasPrefix(argv[len(argv)-1], "bobbench") {
			t.Errorf("cleanup touches something not ours: %v", argv)
		}
	}
}

// TestSpawnerReportsTheChildsOwnPeak shows why measured processes go
// through the spawner: started directly, a child reports the benchmark's
// peak RSS as its own.
func TestSpawnerReportsTheChildsOwnPeak(t *testing.T) {
	tru, err := exec.LookPath("true")
	if err != nil {
		t.Skip("no true")
	}
	ballast := make([]byte, 200*mib)
	for i := 0; i < len(ballast); i += 4096 {
		ballast[i] = 1
	}
	ctx := context.Background()
	dir := t.TempDir()
	run := func(sp *spawner) usage {
		t.Helper()
		l, _ := newProcLog("")
		p, err := startProc(ctx, "true", []string{tru}, l, nil, sp)
		if err != nil {
			t.Fatal(err)
		}
		if err := p.wait(ctx); err != nil {
			t.Fatal(err)
		}
		u, err := p.usage()
		if err != nil {
			t.Fatal(err)
		}
		return u
	}
	direct := run(nil)
	spawned := run(&spawner{self: testBinary(t), usagePath: filepath.Join(dir, "true.rusage.json")})
	runtime.KeepAlive(ballast)
	if direct.MaxRSSMiB < 200 {
		t.Logf("direct child reports %.1f MiB: this kernel does not seed ru_maxrss from the parent", direct.MaxRSSMiB)
	}
	if spawned.MaxRSSMiB <= 0 || spawned.MaxRSSMiB > 100 {
		t.Errorf("spawned true reports %.1f MiB peak RSS", spawned.MaxRSSMiB)
	}
}

func TestSpawnerExitAndSignals(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	ctx := context.Background()
	dir := t.TempDir()
	l, _ := newProcLog("")
	w := newLineWatcher("code:")
	sp := &spawner{self: testBinary(t), usagePath: filepath.Join(dir, "a.json")}
	p, err := startProc(ctx, "exit3", []string{sh, "-c", "echo code: x; exit 3"}, l, w, sp)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := waitLine(ctx, w, p); err != nil || got != "x" {
		t.Errorf("output through the spawner: %q, %v", got, err)
	}
	if err := p.wait(ctx); err == nil || !strings.Contains(err.Error(), "exit status 3") {
		t.Errorf("exit code through the spawner: %v", err)
	}

	// SIGTERM reaches the command, and a command that honours it stops cleanly.
	l, _ = newProcLog("")
	sp = &spawner{self: testBinary(t), usagePath: filepath.Join(dir, "b.json")}
	w = newLineWatcher("ready")
	p, err = startProc(ctx, "sleeper", []string{sh, "-c", "echo ready; exec sleep 60"}, l, w, sp)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := waitLine(ctx, w, p); err != nil { // the spawner handles signals before it starts the command
		t.Fatal(err)
	}
	if err := p.stop(10 * time.Second); err != nil {
		t.Errorf("stop through the spawner: %v", err)
	}
	if _, err := p.usage(); err != nil {
		t.Errorf("no rusage after SIGTERM: %v", err)
	}

	if code := runSpawn("", nil, io.Discard); code != 2 {
		t.Errorf("spawn without a command: exit %d", code)
	}
}
