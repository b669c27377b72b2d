//go:build linux

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func sampleResult() *result {
	ok := func(name, l string, mbps float64) caseResult {
		return caseResult{
			Name: name, Link: l, Compress: "auto", Bytes: 1 << 30, Files: 1, OK: true,
			RecvSeconds: 2, SendSeconds: 2.1, RecvMBps: mbps, SendMBps: mbps * 0.95,
			FirstByteMs: 40, FilesPerSec: 0.5,
			Sender:    usage{CPUSeconds: 0.8, MaxRSSMiB: 20},
			Receiver:  usage{CPUSeconds: 0.7, MaxRSSMiB: 22},
			Relay:     usage{CPUSeconds: 0.2, MaxRSSMiB: 12},
			CPUPerGiB: cpuPerGiB{Sender: 0.8, Receiver: 0.7, Relay: 0.2, Total: 1.7},
		}
	}
	random := ok(caseRandom, "loopback", 700)
	random.CeilingRatio = 0.7
	compressible := ok(caseCompressible, "loopback", 350)
	compressible.FirstByteMs = 160
	compressible.Receiver.MaxRSSMiB = 45
	small := ok(caseSmall, "loopback", 0)
	small.Name, small.Files, small.FilesPerSec, small.OK, small.Error = caseSmall, 10000, 0, false, "bob delivered wrong output: missing small/000/00001.bin"
	slow := ok(caseCompressible, "netns 100mbit", 50)
	slow.LinkRatio = 4
	slow.FirstByteMs = 900 // over the link: not held to the loopback first-byte target
	return &result{
		Machine:  machine{CPU: "Test CPU", Cores: 2, Go: "go1.26", OS: "linux/amd64", Kernel: "6.1"},
		Started:  time.Date(2026, 1, 2, 3, 4, 0, 0, time.UTC),
		Bob:      "dev",
		Size:     1 << 30,
		Seed:     1,
		Compress: "auto",
		Ceiling: &ceilingResult{Bytes: 1 << 30, MBps: 1000, Runs: []ceilingRun{
			{MBps: 990, Source: usage{CPUSeconds: 0.6}, Proxy: usage{CPUSeconds: 0.9}, Sink: usage{CPUSeconds: 0.3}},
			{MBps: 1000}, {MBps: 1010},
		}},
		EncryptedCeiling: &ceilingResult{Bytes: 1 << 30, MBps: 650, Runs: []ceilingRun{
			{MBps: 650, Source: usage{CPUSeconds: 1.5}, Proxy: usage{CPUSeconds: 0.3}, Sink: usage{CPUSeconds: 1.2}},
		}},
		Cases: []caseResult{random, compressible, small, slow},
		Notes: []string{"a note"},
	}
}

func targetByName(ts []target, name string) target {
	for _, t := range ts {
		if t.Name == name {
			return t
		}
	}
	return target{Name: "absent " + name}
}

func TestEvaluateTargets(t *testing.T) {
	r := sampleResult()
	ts := evaluateTargets(r)
	for name, want := range map[string]string{
		"random: share of the ceiling":         statusPass, // 700/1000 = 70%
		"compressible on loopback":             statusMiss, // 350 < 400
		"compressible over 100 Mbit/s":         statusPass, // 4× ≥ 3×
		"small files":                          statusFail, // the case failed
		"random: CPU of sender+receiver+relay": statusPass,
		"first byte, ms after receiver start":  statusMiss, // 160 on loopback
		"peak RSS of the sender, MiB":          statusPass,
		"peak RSS of the receiver, MiB":        statusMiss, // 45
		"peak RSS of the relay, MiB":           statusPass,
	} {
		if got := targetByName(ts, name); got.Status != want {
			t.Errorf("%s: %s (%s), want %s", name, got.Status, got.Measured, want)
		}
	}
	if fb := targetByName(ts, "first byte, ms after receiver start"); fb.Value != 160 || !strings.Contains(fb.Measured, "compressible on loopback") {
		t.Errorf("first byte target = %+v, want the worst loopback case", fb)
	}

	r.Cases = r.Cases[:1]
	r.Ceiling = nil
	ts = evaluateTargets(r)
	if got := targetByName(ts, "compressible on loopback"); got.Status != statusSkip {
		t.Errorf("case not run: %s", got.Status)
	}
	if got := targetByName(ts, "random: share of the ceiling"); got.Status != statusMiss || !strings.Contains(got.Measured, "no ceiling") {
		t.Errorf("no ceiling: %+v", got)
	}
}

func TestWriteTable(t *testing.T) {
	r := sampleResult()
	r.Targets = evaluateTargets(r)
	var b bytes.Buffer
	if err := writeTable(&b, r); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"Test CPU · 2 cores", "go1.26",
		"1000 MB/s, median of 990, 1000, 1010",
		"CPU-s/GiB snd/proxy/rcv 0.20/0.30/0.10 = 0.60", // the mean of three runs
		// 2 cores / (0.7 × 1000 MB/s in GiB/s) = 3.07 CPU-s per GiB
		"cpu budget: 70% of the ceiling is 700 MB/s, which 2 cores reach only at ≤ 3.07 CPU-s/GiB",
		"spent: ceiling 0.60, encrypted ceiling 3.00, bob 1.70",
		"encrypted ceiling (the same, the sender sealing AES-256-GCM records", "650 MB/s (65% of the ceiling), median of 650; CPU-s/GiB snd/proxy/rcv 1.50/0.30/1.20 = 3.00",
		"70% (700 of 1000 MB/s); encrypted ceiling 65%",
		"random        loopback       1.00 GiB", // aligned columns
		"70% ceil", "4.0× link",
		"0.80/0.70/0.20 = 1.70", "20.0/22.0/12.0",
		"FAILED small on loopback: bob delivered wrong output",
		"≥ 400 MB/s", "MISS", "PASS", "FAIL",
		"note: a note",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	r.Ceiling = &ceilingResult{Error: "sink: boom"}
	r.EncryptedCeiling = &ceilingResult{Error: "open-sink: bang"}
	b.Reset()
	if err := writeTable(&b, r); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"\nceiling: FAILED: sink: boom", "encrypted ceiling: FAILED: open-sink: bang"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("failed ceiling not shown (%q):\n%s", want, b.String())
		}
	}
}

func TestWriteJSON(t *testing.T) {
	r := sampleResult()
	r.Targets = evaluateTargets(r)
	p := filepath.Join(t.TempDir(), "r.json")
	if err := writeJSON(p, r); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	var back map[string]any
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	m := back["machine"].(map[string]any)
	if m["cpu"] != "Test CPU" || m["cores"] != float64(2) || m["go"] != "go1.26" {
		t.Errorf("machine = %v", m)
	}
	cases := back["cases"].([]any)
	c0 := cases[0].(map[string]any)
	if c0["name"] != "random" || c0["mb_per_s"] != float64(700) || c0["sender"].(map[string]any)["max_rss_mib"] != float64(20) ||
		c0["cpu_s_per_gib"].(map[string]any)["total"] != 1.7 {
		t.Errorf("case = %v", c0)
	}
	if len(back["targets"].([]any)) != len(r.Targets) {
		t.Error("targets missing from JSON")
	}
	if _, err := os.Stat(p + ".tmp"); !os.IsNotExist(err) {
		t.Error("temporary file left behind")
	}
}

func TestMedian(t *testing.T) {
	runs := func(v ...float64) []ceilingRun {
		var out []ceilingRun
		for _, x := range v {
			out = append(out, ceilingRun{MBps: x})
		}
		return out
	}
	for _, c := range []struct {
		in   []ceilingRun
		want float64
	}{{nil, 0}, {runs(5), 5}, {runs(9, 1, 5), 5}, {runs(4, 1, 3, 2), 2.5}} {
		if got := medianMBps(c.in); got != c.want {
			t.Errorf("median(%v) = %v, want %v", c.in, got, c.want)
		}
	}
	if got := mbps(2e6, time.Second); got != 2 {
		t.Errorf("mbps = %v", got)
	}
	if got := mbps(1, 0); got != 0 {
		t.Errorf("mbps over no time = %v", got)
	}
}

func TestRunMedian(t *testing.T) {
	// Runs are numbered from 1; run 0 is the warm-up.
	speeds := []float64{0: 999, 1: 300, 2: 100, 3: 200}
	var ran []int
	run := func(n int) caseResult {
		ran = append(ran, n)
		return caseResult{OK: true, RecvMBps: speeds[n], Files: n}
	}
	got := runMedian(3, true, run)
	if !slices.Equal(ran, []int{0, 1, 2, 3}) {
		t.Errorf("ran %v, want the warm-up then three runs", ran)
	}
	if got.Files != 3 || got.RecvMBps != 200 {
		t.Errorf("reported the run %+v, want the median run (3, 200 MB/s)", got)
	}
	if !slices.Equal(got.RunsMBps, []float64{100, 200, 300}) {
		t.Errorf("runs = %v", got.RunsMBps)
	}

	ran = nil
	if got := runMedian(1, false, run); !slices.Equal(ran, []int{1}) || got.RunsMBps != nil || got.RecvMBps != 300 {
		t.Errorf("one run without warm-up: ran %v, got %+v", ran, got)
	}

	failAt := func(bad int) func(int) caseResult {
		return func(n int) caseResult {
			if n == bad {
				return caseResult{Error: "boom"}
			}
			return caseResult{OK: true, RecvMBps: 1}
		}
	}
	if got := runMedian(3, true, failAt(0)); got.OK || got.Error != "warm-up run: boom" {
		t.Errorf("failed warm-up reported as %+v", got)
	}
	if got := runMedian(3, true, failAt(2)); got.OK || got.Error != "boom" {
		t.Errorf("failed second run reported as %+v", got)
	}
}

// TestCeilingRoles runs source → proxy → sink in this process over
// loopback, plain and sealed.
func TestCeilingRoles(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	file := filepath.Join(t.TempDir(), "data")
	const size = 3*mib + 17 // not a whole number of sealed records
	if _, err := createFile(file, size, func(w io.Writer, n int64) error { return writeRandom(w, n, 1, "t") }); err != nil {
		t.Fatal(err)
	}

	listen := func(role string, run func(*announce) error) (string, chan error) {
		a := &announce{port: make(chan string, 1)}
		done := make(chan error, 1)
		go func() { done <- run(a) }()
		select {
		case p := <-a.port:
			return "127.0.0.1:" + p, done
		case err := <-done:
			t.Fatalf("%s: %v", role, err)
		case <-ctx.Done():
			t.Fatalf("%s did not listen", role)
		}
		return "", nil
	}
	key := newSealedKey()
	for _, tc := range []struct {
		name   string
		sink   func(context.Context, int64, io.Writer) error
		source func(ctx context.Context, addr string) error
	}{
		{"plain", runSink, func(ctx context.Context, addr string) error { return runSource(ctx, addr, file) }},
		{
			"sealed",
			func(ctx context.Context, expect int64, w io.Writer) error { return runOpenSink(ctx, expect, key, w) },
			func(ctx context.Context, addr string) error { return runSealedSource(ctx, addr, file, key) },
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var sinkOut bytes.Buffer
			sinkAddr, sinkDone := listen("sink", func(a *announce) error {
				err := tc.sink(ctx, size, a)
				fmt.Fprint(&sinkOut, a.rest.String())
				return err
			})
			proxyAddr, proxyDone := listen("proxy", func(a *announce) error { return runProxy(ctx, sinkAddr, a) })
			if err := tc.source(ctx, proxyAddr); err != nil {
				t.Fatal("source:", err)
			}
			if err := <-proxyDone; err != nil {
				t.Fatal("proxy:", err)
			}
			if err := <-sinkDone; err != nil {
				t.Fatal("sink:", err)
			}
			if !strings.Contains(sinkOut.String(), fmt.Sprintf("received %d", size)) {
				t.Errorf("sink said %q", sinkOut.String())
			}

			// A short delivery is an error at the sink.
			sinkAddr, sinkDone = listen("sink", func(a *announce) error { return tc.sink(ctx, size+1, a) })
			if err := tc.source(ctx, sinkAddr); err != nil {
				t.Fatal("source:", err)
			}
			if err := <-sinkDone; err == nil || !strings.Contains(err.Error(), "want") {
				t.Errorf("short delivery: %v", err)
			}
		})
	}

	// The sealed sink opens records: another key's fail at the first one.
	sinkAddr, sinkDone := listen("sink", func(a *announce) error { return runOpenSink(ctx, size, newSealedKey(), a) })
	_ = runSealedSource(ctx, sinkAddr, file, key) // cut off by the sink's failure
	if err := <-sinkDone; err == nil || !strings.Contains(err.Error(), "record 0: cipher: message authentication failed") {
		t.Errorf("another key: %v", err)
	}
	for _, bad := range []string{"", "00", strings.Repeat("zz", 32)} {
		if err := runSealedSource(ctx, "127.0.0.1:1", file, bad); err == nil || !strings.Contains(err.Error(), "-internal-key") {
			t.Errorf("key %q: %v", bad, err)
		}
	}
}

// announce captures a role's "listening PORT" line.
type announce struct {
	port chan string
	rest bytes.Buffer
}

func (a *announce) Write(p []byte) (int, error) {
	s := string(p)
	if port, ok := strings.CutPrefix(s, listeningPrefix); ok {
		a.port <- strings.TrimSpace(port)
		return len(p), nil
	}
	return a.rest.Write(p)
}
