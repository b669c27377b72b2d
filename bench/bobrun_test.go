//go:build linux

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestMain lets the test binary stand in for the benchmark binary when it
// re-executes itself, and builds the helper programs the tests share.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == "-internal-role" {
		os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
	}
	dir, err := os.MkdirTemp("", "bench-test-")
	if err != nil {
		panic(err)
	}
	helperDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// helperDir holds the programs built once for all tests.
var (
	helperDir   string
	helperMu    sync.Mutex
	helperBuilt = map[string]string{}
)

// buildHelper builds the package in dir once per test run. Tests run it
// instead of the race-instrumented test binary, which starts slowly.
func buildHelper(t *testing.T, name, dir string) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds a program")
	}
	helperMu.Lock()
	defer helperMu.Unlock()
	if p, ok := helperBuilt[name]; ok {
		return p
	}
	out := filepath.Join(helperDir, name)
	if b, err := exec.Command("go", "build", "-o", out, dir).CombinedOutput(); err != nil {
		t.Fatalf("building %s: %v\n%s", dir, err, b)
	}
	helperBuilt[name] = out
	return out
}

// testBinary is this benchmark, built, to act as the spawner.
func testBinary(t *testing.T) string { return buildHelper(t, "bench", ".") }

// buildFakeBob builds testdata/fakebob, which speaks bob's command lines
// over a trivial protocol, to test the process handling without bob.
func buildFakeBob(t *testing.T) string { return buildHelper(t, "fakebob", "./testdata/fakebob") }

func TestRunCaseWithFakeBob(t *testing.T) {
	bob := buildFakeBob(t)
	work := t.TempDir()
	inputs, err := generateInputs(filepath.Join(work, "in"), inputSpec{size: 512 * kib, smallFiles: keepOutputFiles, seed: 3, goSrc: fakeGoSrc(t)}, allCases)
	if err != nil {
		t.Fatal(err)
	}
	logDir := filepath.Join(work, "logs")
	if err := os.Mkdir(logDir, 0o755); err != nil {
		t.Fatal(err)
	}
	r := &bobRunner{self: testBinary(t), bob: bob, workDir: work, logDir: logDir, compress: "auto"}
	ctx := context.Background()

	kept := 0 // outputs of many files stay until the work directory goes
	for i, name := range allCases {
		in := inputs[name]
		if in.files >= keepOutputFiles {
			kept++
		}
		l, err := loopbackLink()
		if err != nil {
			t.Fatal(err)
		}
		c := r.runCase(ctx, in, l, i+1, 30*time.Second)
		if !c.OK {
			t.Fatalf("%s: %s", name, c.Error)
		}
		if c.Bytes != in.bytes || c.Files != in.files || c.Link != "loopback" || c.Compress != "auto" {
			t.Errorf("%s: result = %+v", name, c)
		}
		if c.RecvSeconds <= 0 || c.SendSeconds < c.RecvSeconds || c.RecvMBps <= 0 || c.FilesPerSec <= 0 {
			t.Errorf("%s: times = recv %v s, send %v s, %v MB/s, %v files/s", name, c.RecvSeconds, c.SendSeconds, c.RecvMBps, c.FilesPerSec)
		}
		if c.FirstByteMs <= 0 || c.FirstByteMs > c.RecvSeconds*1000+1 {
			t.Errorf("%s: first byte %v ms of a %v s receive", name, c.FirstByteMs, c.RecvSeconds)
		}
		for role, u := range map[string]usage{"sender": c.Sender, "receiver": c.Receiver, "relay": c.Relay} {
			if u.MaxRSSMiB <= 0 || u.CPUSeconds < 0 {
				t.Errorf("%s: %s usage %+v", name, role, u)
			}
		}
		if c.CPUPerGiB.Total <= 0 {
			t.Errorf("%s: cpu per GiB %+v", name, c.CPUPerGiB)
		}
	}
	if entries, _ := filepath.Glob(filepath.Join(work, "recv-*")); len(entries) != kept {
		t.Errorf("received output left behind: %v; want %d (the many-file cases)", entries, kept)
	}
	if kept == 0 {
		t.Error("no case had enough files to test that their output is kept")
	}
	if logs, _ := filepath.Glob(filepath.Join(logDir, "random-loopback-*")); len(logs) != 6 {
		t.Errorf("logs = %v, want the output and rusage of relay, send and recv", logs)
	}

	// Wrong bytes are a failure, not a figure.
	t.Setenv("FAKEBOB_CORRUPT", "1")
	l, err := loopbackLink()
	if err != nil {
		t.Fatal(err)
	}
	c := r.runCase(ctx, inputs[caseMixed], l, 9, 30*time.Second)
	if c.OK || !strings.Contains(c.Error, "wrong output") || !strings.Contains(c.Error, "different content") {
		t.Errorf("corrupted transfer: ok=%v error=%q", c.OK, c.Error)
	}
}

func TestRunCaseFailures(t *testing.T) {
	bob := buildFakeBob(t)
	work := t.TempDir()
	in := &input{name: "missing", path: filepath.Join(work, "does-not-exist"), want: manifest{}}
	r := &bobRunner{self: testBinary(t), bob: bob, workDir: work, logDir: work, compress: "auto"}
	l, err := loopbackLink()
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	c := r.runCase(context.Background(), in, l, 1, 30*time.Second)
	if c.OK || c.Error == "" {
		t.Errorf("sending a missing file: ok=%v error=%q", c.OK, c.Error)
	}
	if time.Since(start) > 20*time.Second {
		t.Error("a failing sender was not noticed quickly")
	}

	// A bob without relay: the case ends with a clear error.
	r.bob = "/bin/false"
	c = r.runCase(context.Background(), in, l, 1, 30*time.Second)
	if c.OK || !strings.Contains(c.Error, "exited before listening") {
		t.Errorf("broken relay: ok=%v error=%q", c.OK, c.Error)
	}
}

// TestBenchmarkEndToEnd runs the whole command, ceiling included, with the
// fake bob and tiny inputs.
func TestBenchmarkEndToEnd(t *testing.T) {
	bob := buildFakeBob(t)
	dir := t.TempDir()
	out := filepath.Join(dir, "r.json")
	cmd := exec.Command(testBinary(t), "--bob", bob, "--size", "1MiB", "--files", "20", "--ceiling-runs", "1", "--dir", dir, "--out", out)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%v\nstdout:\n%s\nstderr:\n%s", err, stdout.String(), stderr.String())
	}
	for _, want := range []string{"ceiling (sender process", "encrypted ceiling (the same", "random", "compressible", "small", "mixed", "targets (issue 6)", "bob fake"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, stdout.String())
		}
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var res result
	if err := json.Unmarshal(b, &res); err != nil {
		t.Fatal(err)
	}
	if res.Ceiling == nil || res.Ceiling.MBps <= 0 || len(res.Ceiling.Runs) != 1 || res.Ceiling.Error != "" {
		t.Errorf("ceiling = %+v", res.Ceiling)
	}
	if s := res.EncryptedCeiling; s == nil || s.MBps <= 0 || len(s.Runs) != 1 || s.Error != "" {
		t.Errorf("encrypted ceiling = %+v", s)
	}
	if len(res.Cases) != len(allCases) || res.Machine.Cores < 1 || len(res.Targets) == 0 {
		t.Errorf("result = %+v", res)
	}
	for _, c := range res.Cases {
		if !c.OK || c.CeilingRatio <= 0 {
			t.Errorf("case %s: ok=%v ratio=%v %s", c.Name, c.OK, c.CeilingRatio, c.Error)
		}
	}
	// The work directory is gone; only the JSON is left, and the record of
	// the clean-up (the mixed case's runs alone make over a thousand files).
	entries, _ := os.ReadDir(dir)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if !slices.Equal(names, []string{deletionsFile, "r.json"}) {
		t.Errorf("left in --dir: %v", names)
	}
	if note := deletionsNote(dir, time.Now()); !strings.Contains(note, "an earlier run deleted") {
		t.Errorf("the next run would not warn of the clean-up: %q", note)
	}
}

// TestNetnsCaseWithFakeBob makes a rate-limited link between two network
// namespaces of its own (root only) and moves a small input over it.
func TestNetnsCaseWithFakeBob(t *testing.T) {
	if why := netnsUnavailable(os.Geteuid(), exec.LookPath); why != "" {
		t.Skip(why)
	}
	bob := buildFakeBob(t)
	names := namesFor(fmt.Sprintf("bbt%d", os.Getpid()%1000000))
	names.cleanup()
	t.Cleanup(func() {
		names.cleanup()
		out, _ := exec.Command("ip", "netns", "list").Output()
		if hasWord(string(out), names.sendNS) || hasWord(string(out), names.recvNS) {
			t.Errorf("namespaces left behind: %s", out)
		}
	})
	l, err := names.setup(context.Background())
	if err != nil {
		t.Skip("cannot make network namespaces here:", err)
	}
	work := t.TempDir()
	inputs, err := generateInputs(filepath.Join(work, "in"), inputSpec{size: 2 * mib, seed: 1, goSrc: fakeGoSrc(t)}, []string{caseCompressible})
	if err != nil {
		t.Fatal(err)
	}
	r := &bobRunner{self: testBinary(t), bob: bob, workDir: work, logDir: work, compress: "auto"}
	c := r.runCase(context.Background(), inputs[caseCompressible], l, 9, time.Minute)
	if !c.OK {
		t.Fatal(c.Error)
	}
	// The fake bob does not compress: it cannot beat the 12.5 MB/s link by
	// much (tbf lets a burst through first).
	if c.RecvMBps <= 0 || c.RecvMBps > 20 {
		t.Errorf("%.1f MB/s over a 100 Mbit/s link", c.RecvMBps)
	}
	if c.Link != "netns 100mbit" {
		t.Errorf("link = %q", c.Link)
	}
}
