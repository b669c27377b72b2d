//go:build linux

package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"
)

// result is one benchmark run, as written to JSON.
type result struct {
	Machine  machine        `json:"machine"`
	Started  time.Time      `json:"started"`
	Seconds  float64        `json:"seconds"`
	Bob      string         `json:"bob"`
	Size     int64          `json:"size"`
	Seed     uint64         `json:"seed"`
	Compress string         `json:"compress"`
	Runs     int            `json:"runs"`   // measured runs of each loopback case
	Warmup   bool           `json:"warmup"` // an unmeasured run of each loopback case came first
	Ceiling  *ceilingResult `json:"ceiling,omitempty"`
	// EncryptedCeiling is the ceiling with AES-GCM and nothing else added.
	EncryptedCeiling *ceilingResult `json:"encrypted_ceiling,omitempty"`
	Cases            []caseResult   `json:"cases"`
	Targets          []target       `json:"targets"`
	Notes            []string       `json:"notes,omitempty"`
}

// Target outcomes.
const (
	statusPass = "PASS"
	statusMiss = "MISS"
	statusFail = "FAIL" // the case did not deliver, so nothing was measured
	statusSkip = "SKIP" // the case was not run
)

// target is one goal of issue 6 next to what this run measured.
type target struct {
	Name     string  `json:"name"`
	Goal     string  `json:"goal"`
	Measured string  `json:"measured"`
	Value    float64 `json:"value"`
	Status   string  `json:"status"`
}

func (r *result) findCase(name, linkName string) (caseResult, bool) {
	for _, c := range r.Cases {
		if c.Name == name && c.Link == linkName {
			return c, true
		}
	}
	return caseResult{}, false
}

// ceilingRatioTarget is issue 6's goal for random data: this share of the
// ceiling measured in the same run.
const ceilingRatioTarget = 0.70

// evaluateTargets compares the run with the targets of issue 6.
func evaluateTargets(r *result) []target {
	var out []target
	// one adds a target measured on a single case.
	one := func(name, caseName, linkName, goal string, limit float64, atLeast bool, value func(caseResult) (float64, string)) {
		t := target{Name: name, Goal: goal}
		c, ok := r.findCase(caseName, linkName)
		switch {
		case !ok:
			t.Status, t.Measured = statusSkip, "not run"
		case !c.OK:
			t.Status, t.Measured = statusFail, "case failed"
		default:
			t.Value, t.Measured = value(c)
			t.Status = passOrMiss(t.Value, limit, atLeast)
		}
		out = append(out, t)
	}
	one("random: share of the ceiling", caseRandom, "loopback", fmt.Sprintf("≥ %.0f%%", 100*ceilingRatioTarget), ceilingRatioTarget, true, func(c caseResult) (float64, string) {
		if r.Ceiling == nil || r.Ceiling.MBps == 0 {
			return 0, "no ceiling"
		}
		v := c.RecvMBps / r.Ceiling.MBps
		measured := fmt.Sprintf("%.0f%% (%.0f of %.0f MB/s)", 100*v, c.RecvMBps, r.Ceiling.MBps)
		if s := r.EncryptedCeiling; s != nil && s.Error == "" && s.MBps > 0 {
			measured += fmt.Sprintf("; encrypted ceiling %.0f%%", 100*s.MBps/r.Ceiling.MBps)
		}
		return v, measured
	})
	one("compressible on loopback", caseCompressible, "loopback", "≥ 400 MB/s", 400, true, func(c caseResult) (float64, string) {
		return c.RecvMBps, fmt.Sprintf("%.0f MB/s", c.RecvMBps)
	})
	one("compressible over 100 Mbit/s", caseCompressible, "netns "+linkRate, "≥ 3× the link", 3, true, func(c caseResult) (float64, string) {
		return c.LinkRatio, fmt.Sprintf("%.1f× (%.1f MB/s)", c.LinkRatio, c.RecvMBps)
	})
	one("small files", caseSmall, "loopback", "≥ 5000 files/s", 5000, true, func(c caseResult) (float64, string) {
		return c.FilesPerSec, fmt.Sprintf("%.0f files/s", c.FilesPerSec)
	})
	one("random: CPU of sender+receiver+relay", caseRandom, "loopback", "≤ 2 CPU-s/GiB", 2, false, func(c caseResult) (float64, string) {
		return c.CPUPerGiB.Total, fmt.Sprintf("%.2f CPU-s/GiB", c.CPUPerGiB.Total)
	})

	// worst adds a target that every case must meet; it shows the worst.
	worst := func(name, goal string, limit float64, loopbackOnly bool, value func(caseResult) float64) {
		t := target{Name: name, Goal: goal, Status: statusSkip, Measured: "no case delivered"}
		var worstCase string
		for _, c := range r.Cases {
			if !c.OK || (loopbackOnly && c.Link != "loopback") {
				continue
			}
			if v := value(c); worstCase == "" || v > t.Value {
				t.Value, worstCase = v, c.Name+" on "+c.Link
			}
		}
		if worstCase != "" {
			t.Status = passOrMiss(t.Value, limit, false)
			t.Measured = fmt.Sprintf("%.1f (worst: %s)", t.Value, worstCase)
		}
		out = append(out, t)
	}
	worst("first byte, ms after receiver start", "≤ 150 ms", 150, true, func(c caseResult) float64 { return c.FirstByteMs })
	worst("peak RSS of the sender, MiB", "≤ 40 MiB", 40, false, func(c caseResult) float64 { return c.Sender.MaxRSSMiB })
	worst("peak RSS of the receiver, MiB", "≤ 40 MiB", 40, false, func(c caseResult) float64 { return c.Receiver.MaxRSSMiB })
	worst("peak RSS of the relay, MiB", "≤ 30 MiB", 30, false, func(c caseResult) float64 { return c.Relay.MaxRSSMiB })
	return out
}

func passOrMiss(v, limit float64, atLeast bool) string {
	if (atLeast && v >= limit) || (!atLeast && v <= limit) {
		return statusPass
	}
	return statusMiss
}

// writeTable prints the run for people.
func writeTable(w io.Writer, r *result) error {
	var b strings.Builder
	m := r.Machine
	fmt.Fprintf(&b, "bob benchmark · %s · %d cores · %s, kernel %s · %s · %s · load %.1f→%.1f\n",
		m.CPU, m.Cores, m.OS, m.Kernel, m.Go, r.Started.Format("2006-01-02 15:04"), m.LoadStart, m.LoadEnd)
	fmt.Fprintf(&b, "bob %s · --compress %s · inputs %s (seed %d)\n", r.Bob, r.Compress, formatSize(r.Size), r.Seed)
	writeCeiling(&b, "ceiling", r.Ceiling, nil,
		"sender process → splice proxy process → discarding receiver")
	writeCeiling(&b, "encrypted ceiling", r.EncryptedCeiling, r.Ceiling,
		"the same, the sender sealing AES-256-GCM records straight from a memory map of the file, the receiver opening them; nothing else")
	b.WriteString("\n")

	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "case\tlink\tsize\tfiles\tMB/s\tMB/s*\tratio\tCPU-s/GiB snd/rcv/rly = sum\tRSS MiB snd/rcv/rly\t1st byte ms\tfiles/s\tresult\t")
	var failures []string
	for _, c := range r.Cases {
		status := "ok"
		if !c.OK {
			status = "FAILED"
			failures = append(failures, fmt.Sprintf("%s on %s: %s", c.Name, c.Link, c.Error))
		}
		ratio := "-"
		switch {
		case c.LinkRatio > 0:
			ratio = fmt.Sprintf("%.1f× link", c.LinkRatio)
		case c.CeilingRatio > 0:
			ratio = fmt.Sprintf("%.0f%% ceil", 100*c.CeilingRatio)
		}
		filesPerSec := "-" // meaningless for one file
		if c.Files > 1 {
			filesPerSec = fmt.Sprintf("%.0f", c.FilesPerSec)
		}
		fb := fmt.Sprintf("%.0f", c.FirstByteMs)
		if c.FirstByteUpperBound {
			fb = "≤" + fb
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%.0f\t%.0f\t%s\t%.2f/%.2f/%.2f = %.2f\t%.1f/%.1f/%.1f\t%s\t%s\t%s\t\n",
			c.Name, c.Link, formatSize(c.Bytes), c.Files, c.RecvMBps, c.SendMBps, ratio,
			c.CPUPerGiB.Sender, c.CPUPerGiB.Receiver, c.CPUPerGiB.Relay, c.CPUPerGiB.Total,
			c.Sender.MaxRSSMiB, c.Receiver.MaxRSSMiB, c.Relay.MaxRSSMiB, fb, filesPerSec, status)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	b.WriteString("MB/s: payload (decimal MB) / receiver start → exit; MB/s*: / sender start → both exited.\n")
	if r.Runs > 1 || r.Warmup {
		warm := ""
		if r.Warmup {
			warm = "after one unmeasured warm-up run, "
		}
		fmt.Fprintf(&b, "Loopback cases: %sthe median of %d runs by MB/s.", warm, r.Runs)
		for _, c := range r.Cases {
			if len(c.RunsMBps) > 1 {
				runs := make([]string, len(c.RunsMBps))
				for i, v := range c.RunsMBps {
					runs[i] = fmt.Sprintf("%.0f", v)
				}
				fmt.Fprintf(&b, " %s: %s.", c.Name, strings.Join(runs, ", "))
			}
		}
		b.WriteString("\n")
	}
	for _, f := range failures {
		fmt.Fprintf(&b, "FAILED %s\n", f)
	}

	b.WriteString("\ntargets (issue 6)\n")
	tw = tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	for _, t := range r.Targets {
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t\n", t.Name, t.Measured, t.Goal, t.Status)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if line := cpuBudget(r); line != "" {
		b.WriteString(line)
	}
	for _, n := range r.Notes {
		fmt.Fprintf(&b, "note: %s\n", n)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// writeCeiling prints one ceiling line; next to a plain ceiling it also
// gives the share of it.
func writeCeiling(b *strings.Builder, name string, c, plain *ceilingResult, what string) {
	if c == nil {
		return
	}
	if c.Error != "" {
		fmt.Fprintf(b, "%s: FAILED: %s\n", name, c.Error)
		return
	}
	runs := make([]string, len(c.Runs))
	for i, run := range c.Runs {
		runs[i] = fmt.Sprintf("%.0f", run.MBps)
	}
	share := ""
	if plain != nil && plain.Error == "" && plain.MBps > 0 {
		share = fmt.Sprintf(" (%.0f%% of the ceiling)", 100*c.MBps/plain.MBps)
	}
	cpu := c.cpuPerGiB()
	fmt.Fprintf(b, "%s (%s, %s): %.0f MB/s%s, median of %s; CPU-s/GiB snd/proxy/rcv %.2f/%.2f/%.2f = %.2f\n",
		name, what, formatSize(c.Bytes), c.MBps, share, strings.Join(runs, ", "), cpu.Sender, cpu.Relay, cpu.Receiver, cpu.Total)
}

// cpuPerGiB is the mean CPU time of the ceiling's three processes per GiB
// moved, in the shape of bob's: source as sender, proxy as relay, sink as
// receiver.
func (c *ceilingResult) cpuPerGiB() cpuPerGiB {
	var out cpuPerGiB
	if c.Bytes <= 0 || len(c.Runs) == 0 {
		return out
	}
	per := float64(len(c.Runs)) * float64(c.Bytes) / gib
	for _, run := range c.Runs {
		out.Sender += run.Source.CPUSeconds / per
		out.Relay += run.Proxy.CPUSeconds / per
		out.Receiver += run.Sink.CPUSeconds / per
	}
	out.Total = out.Sender + out.Relay + out.Receiver
	return out
}

// cpuBudget explains the ceiling ratio in CPU time. On loopback the three
// processes share the machine's cores, so MB/s is at most cores ÷ CPU-s per
// GiB: the line says how little CPU bob may spend to reach the ratio target
// even with every core busy all the time, next to what it spent.
func cpuBudget(r *result) string {
	c, ok := r.findCase(caseRandom, "loopback")
	if !ok || !c.OK || r.Ceiling == nil || r.Ceiling.MBps <= 0 || r.Machine.Cores <= 0 {
		return ""
	}
	ceilingGiBps := r.Ceiling.MBps * 1e6 / gib
	budget := float64(r.Machine.Cores) / (ceilingRatioTarget * ceilingGiBps)
	encrypted := ""
	if s := r.EncryptedCeiling; s != nil && s.Error == "" && len(s.Runs) > 0 {
		encrypted = fmt.Sprintf(", encrypted ceiling %.2f", s.cpuPerGiB().Total)
	}
	return fmt.Sprintf("cpu budget: %.0f%% of the ceiling is %.0f MB/s, which %d cores reach only at ≤ %.2f CPU-s/GiB with every core busy throughout; spent: ceiling %.2f%s, bob %.2f\n",
		100*ceilingRatioTarget, ceilingRatioTarget*r.Ceiling.MBps, r.Machine.Cores, budget, r.Ceiling.cpuPerGiB().Total, encrypted, c.CPUPerGiB.Total)
}

// writeJSON writes the result to path, replacing it only once complete.
func writeJSON(path string, r *result) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
