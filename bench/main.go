//go:build linux

// Command bench measures bob end to end on this machine: it generates
// inputs, builds bob, moves them with real bob relay, send and recv
// processes, measures the machine's ceiling with plain processes in the same
// run (and again with encryption alone added), and prints a table (with the targets of issue 6) and writes JSON.
//
//	go run ./bench                  # 1 GiB inputs, every case
//	go run ./bench --size 64MiB     # a quick run
//	go run ./bench --netns          # also over a 100 Mbit/s link (root)
package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	cfg, err := parseArgs(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "bench:", err)
		return 2
	}
	if cfg.internal.role != "" {
		return runInternal(cfg.internal, stdout, stderr)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	res, err := benchmark(ctx, cfg, stderr)
	if res != nil {
		if werr := writeTable(stdout, res); werr != nil && err == nil {
			err = werr
		}
	}
	if err != nil {
		fmt.Fprintln(stderr, "bench:", err)
		return 1
	}
	for _, c := range res.Cases {
		if !c.OK {
			return 1
		}
	}
	return 0
}

// benchmark runs everything cfg asks for. Progress goes to log. It returns
// the result so far even when it fails part way.
func benchmark(ctx context.Context, cfg config, log io.Writer) (*result, error) {
	began := time.Now()
	progress := func(format string, a ...any) {
		fmt.Fprintf(log, "[%5.1fs] %s\n", time.Since(began).Seconds(), fmt.Sprintf(format, a...))
	}
	goVersion, _ := goOutput(ctx, "", "env", "GOVERSION")
	res := &result{
		Machine:  describeMachine(goVersion),
		Started:  began,
		Size:     cfg.size,
		Seed:     cfg.seed,
		Compress: cfg.compress,
		Runs:     cfg.runs,
		Warmup:   cfg.warmup,
		Cases:    []caseResult{},
	}
	finish := func(err error) (*result, error) {
		res.Seconds = time.Since(began).Seconds()
		res.Machine.LoadEnd = loadAverage()
		if n := busyNote(res.Machine); n != "" {
			res.Notes = append(res.Notes, n)
		}
		res.Targets = evaluateTargets(res)
		out := cfg.out
		if out == "" {
			out = filepath.Join(os.TempDir(), "bob-bench-"+began.Format("20060102-150405")+".json")
		}
		if werr := writeJSON(out, res); werr != nil {
			err = errors.Join(err, fmt.Errorf("writing the JSON result: %w", werr))
		} else {
			progress("wrote %s", out)
		}
		return res, err
	}

	work, err := os.MkdirTemp(cfg.dir, "bob-bench-")
	if err != nil {
		return finish(fmt.Errorf("making the work directory: %w", err))
	}
	if cfg.keep {
		defer progress("kept the work directory %s", work)
	} else {
		defer func() {
			if err := removeWorkDir(work); err != nil {
				progress("removing the work directory: %v", err)
			}
		}()
	}
	logDir := filepath.Join(work, "logs")
	if err := os.Mkdir(logDir, 0o755); err != nil {
		return finish(err)
	}

	bob := cfg.bob
	if bob == "" {
		progress("building bob")
		if bob, err = buildBob(ctx, filepath.Join(work, "bob"), cfg.bobTags); err != nil {
			return finish(err)
		}
	}
	res.Bob = "unknown"
	if v, err := commandOutput(ctx, bob, "version"); err == nil {
		res.Bob = strings.TrimSpace(strings.TrimPrefix(v, "bob "))
	}
	bobMissing := ""
	for _, sub := range []string{"relay", "send", "recv"} {
		if _, err := commandOutput(ctx, bob, sub, "--help"); err != nil {
			bobMissing = fmt.Sprintf("this bob has no working %q command yet (%v): bob cases skipped, only the ceiling is measured", sub, err)
			res.Notes = append(res.Notes, bobMissing)
			progress("%s", bobMissing)
			break
		}
	}

	goroot, err := goOutput(ctx, "", "env", "GOROOT")
	if err != nil {
		return finish(err)
	}
	progress("generating inputs (%s each, %d small files) in %s", formatSize(cfg.size), cfg.smallFiles, work)
	inputs, err := generateInputs(filepath.Join(work, "in"), inputSpec{
		size: cfg.size, smallFiles: cfg.smallFiles, seed: cfg.seed, goSrc: filepath.Join(goroot, "src"),
	}, cfg.cases)
	if err != nil {
		return finish(err)
	}
	if err := ctx.Err(); err != nil {
		return finish(err)
	}
	// Writing back gigabytes of fresh inputs would otherwise overlap the
	// measurements: the flusher takes CPU and the disk from the receivers.
	syncStart := time.Now()
	if err := syncFS(work); err != nil {
		return finish(fmt.Errorf("writing the inputs to disk: %w", err))
	}
	progress("inputs written to disk in %.1fs", time.Since(syncStart).Seconds())

	self, err := os.Executable()
	if err != nil {
		return finish(fmt.Errorf("finding this program to run the ceiling: %w", err))
	}
	random := inputs[caseRandom]
	for _, sealed := range []bool{false, true} {
		name, dst := "ceiling", &res.Ceiling
		if sealed {
			name, dst = "encrypted ceiling", &res.EncryptedCeiling
		}
		progress("measuring the %s (%d runs of %s)", name, cfg.ceilingRuns, formatSize(random.bytes))
		c := measureCeiling(ctx, self, random.path, random.bytes, cfg.ceilingRuns, sealed, cfg.caseTimeoutFor(random.bytes, 100e6), logDir)
		*dst = &c
		if c.Error != "" {
			progress("%s failed: %s", name, c.Error)
		} else {
			progress("%s: %.0f MB/s", name, c.MBps)
		}
	}

	if bobMissing != "" {
		return finish(errors.New("bob itself was not measured"))
	}
	r := &bobRunner{self: self, bob: bob, workDir: work, logDir: logDir, compress: cfg.compress}
	for i, name := range cfg.cases {
		if err := ctx.Err(); err != nil {
			return finish(err)
		}
		in := inputs[name]
		if name == caseSmall {
			if note := deletionsNote(filepath.Dir(work), time.Now()); note != "" {
				res.Notes = append(res.Notes, note)
				progress("%s", note)
			}
		}
		l, err := loopbackLink()
		if err != nil {
			return finish(err)
		}
		progress("case %s: %s in %d files over %s", name, formatSize(in.bytes), in.files, l.Name)
		timeout := cfg.caseTimeoutFor(in.bytes, 20e6) + time.Duration(in.files)*20*time.Millisecond
		cr := runMedian(cfg.runs, cfg.warmup, func(run int) caseResult {
			if run == 0 {
				progress("  warm-up run (not measured)")
			}
			return r.runCase(ctx, in, l, i+1, timeout)
		})
		if c := res.Ceiling; c.MBps > 0 && cr.OK {
			cr.CeilingRatio = cr.RecvMBps / c.MBps
		}
		res.Cases = append(res.Cases, cr)
		reportCase(progress, cr)
	}

	if cfg.netns {
		if err := ctx.Err(); err != nil {
			return finish(err)
		}
		if cr, note := runNetnsCase(ctx, cfg, r, inputs, progress); note != "" {
			res.Notes = append(res.Notes, note)
			progress("%s", note)
		} else {
			res.Cases = append(res.Cases, cr)
			reportCase(progress, cr)
		}
	}
	return finish(ctx.Err())
}

// runMedian runs a case runs times, after one unmeasured warm-up run if
// warmup is set, and returns the run with the median MB/s, carrying every
// run's MB/s. A failed run, warm-up included, is returned as it is: a case
// that fails once is not reported as a success. The warm-up takes first-time
// costs out of the figures (cold caches, and on a fresh VM the hypervisor
// faulting in guest memory the first time the page cache uses it, which
// was measured here at 3 CPU-s per GiB).
func runMedian(runs int, warmup bool, run func(n int) caseResult) caseResult {
	if warmup {
		if w := run(0); !w.OK {
			w.Error = "warm-up run: " + w.Error
			return w
		}
	}
	var all []caseResult
	for n := 1; n <= runs; n++ {
		cr := run(n)
		if !cr.OK {
			return cr
		}
		all = append(all, cr)
	}
	slices.SortStableFunc(all, func(a, b caseResult) int { return cmp.Compare(a.RecvMBps, b.RecvMBps) })
	median := all[len(all)/2]
	if len(all) > 1 {
		for _, cr := range all {
			median.RunsMBps = append(median.RunsMBps, cr.RecvMBps)
		}
	}
	return median
}

func reportCase(progress func(string, ...any), c caseResult) {
	if c.OK {
		files := "" // files/s of a single file says nothing
		if c.Files > 1 {
			files = fmt.Sprintf(", %.0f files/s", c.FilesPerSec)
		}
		progress("  %.0f MB/s, first byte %.0f ms%s", c.RecvMBps, c.FirstByteMs, files)
	} else {
		progress("  FAILED: %s", c.Error)
	}
}

// runNetnsCase sends the compressible input over the rate-limited link. It
// returns a note instead when the link cannot be made.
func runNetnsCase(ctx context.Context, cfg config, r *bobRunner, inputs map[string]*input, progress func(string, ...any)) (caseResult, string) {
	if why := netnsUnavailable(os.Geteuid(), exec.LookPath); why != "" {
		return caseResult{}, why
	}
	in := inputs[caseCompressible]
	if in == nil {
		return caseResult{}, "the rate-limited link runs the compressible case, which was not selected; skipped"
	}
	names := namesFor(netnsPrefix)
	names.cleanup() // whatever an interrupted run left
	defer names.cleanup()
	l, err := names.setup(ctx)
	if err != nil {
		return caseResult{}, err.Error() + "; rate-limited link skipped"
	}
	progress("case %s: %s over %s (two network namespaces, tbf)", in.name, formatSize(in.bytes), l.Name)
	cr := r.runCase(ctx, in, l, 9, cfg.caseTimeoutFor(in.bytes, linkBytesPerSec))
	if cr.OK {
		cr.LinkRatio = cr.RecvMBps * 1e6 / l.RateBytesPerSec
	}
	return cr, ""
}

// buildBob builds ./cmd/bob of the module this is run in.
func buildBob(ctx context.Context, out, tags string) (string, error) {
	gomod, err := goOutput(ctx, "", "env", "GOMOD")
	if err != nil || gomod == "" || gomod == os.DevNull {
		return "", fmt.Errorf("run the benchmark inside bob's module (go run ./bench): no go.mod found")
	}
	args := []string{"build", "-o", out}
	if tags != "" {
		args = append(args, "-tags", tags)
	}
	args = append(args, "./cmd/bob")
	if _, err := goOutput(ctx, filepath.Dir(gomod), args...); err != nil {
		return "", fmt.Errorf("building bob: %w", err)
	}
	return out, nil
}

// goOutput runs the go command and returns its trimmed output.
func goOutput(ctx context.Context, dir string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return strings.TrimSpace(string(out)), nil
}

// commandOutput runs a short command and returns its output.
func commandOutput(ctx context.Context, name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("%w: %s", err, strings.TrimSpace(string(out)))
	}
	return string(out), nil
}
