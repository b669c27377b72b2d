//go:build linux

package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/bob-p2p/bob/transfer"
)

// Case names, in the order they run.
const (
	caseRandom       = "random"
	caseCompressible = "compressible"
	caseSmall        = "small"
	caseMixed        = "mixed"
)

var allCases = []string{caseRandom, caseCompressible, caseSmall, caseMixed}

const (
	kib = 1 << 10
	mib = 1 << 20
	gib = 1 << 30
)

// config is one benchmark run as asked for on the command line.
type config struct {
	size        int64    // bytes of each big input (random, compressible)
	cases       []string // loopback cases to run, in allCases order
	smallFiles  int      // number of files in the small-files case
	seed        uint64
	out         string // JSON result path
	dir         string // parent of the work directory
	keep        bool
	netns       bool
	compress    string
	bob         string // prebuilt bob binary; empty means build one
	bobTags     string
	ceilingRuns int
	runs        int           // measured runs of each loopback case
	warmup      bool          // one unmeasured run of each loopback case first
	caseTimeout time.Duration // 0: derived from the size

	// Set only when the binary re-executes itself as a ceiling process.
	internal internalArgs
}

// internalArgs drive the plain processes of the ceiling measurement.
type internalArgs struct {
	role    string // source, proxy or sink
	addr    string // where source and proxy connect
	file    string // what source sends
	expect  int64  // bytes sink must receive
	key     string // AES-256 key in hex of sealed-source and open-sink
	timeout time.Duration
	argv    []string // what spawn runs
}

const usageText = `usage: go run ./bench [flags]

Measures bob against the machine's ceiling: real bob relay, send and recv
processes on 127.0.0.1, and the same bytes pushed through a plain splice proxy,
once as they are and once sealed with AES-256-GCM and nothing else.

flags:
`

func parseArgs(args []string, stderr io.Writer) (config, error) {
	c := config{
		size:        gib,
		cases:       allCases,
		smallFiles:  10000,
		seed:        1,
		compress:    "auto",
		ceilingRuns: 3,
		runs:        3,
		warmup:      true,
	}
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, usageText)
		fs.PrintDefaults()
	}
	var sizeText, casesText string
	fs.StringVar(&sizeText, "size", "1GiB", "size of the random and compressible inputs (e.g. 64MiB, 1GiB)")
	fs.StringVar(&casesText, "cases", strings.Join(allCases, ","), "comma-separated cases to run: "+strings.Join(allCases, ", ")+" (or all)")
	fs.IntVar(&c.smallFiles, "files", c.smallFiles, "number of 4 KiB files in the small case")
	fs.Uint64Var(&c.seed, "seed", c.seed, "seed of the generated inputs")
	fs.StringVar(&c.out, "out", "", "write the JSON result to this file (default: a new file in the temp dir)")
	fs.StringVar(&c.dir, "dir", "", "make the work directory in this directory (default: the temp dir)")
	fs.BoolVar(&c.keep, "keep", false, "keep the work directory (inputs, logs) at the end")
	fs.BoolVar(&c.netns, "netns", false, "also run the compressible case over a 100 Mbit/s link between two network namespaces (root only)")
	fs.StringVar(&c.compress, "compress", c.compress, "bob send --compress: auto, on or off")
	fs.StringVar(&c.bob, "bob", "", "use this bob binary instead of building ./cmd/bob")
	fs.StringVar(&c.bobTags, "bob-tags", "", "build tags for building bob")
	fs.IntVar(&c.ceilingRuns, "ceiling-runs", c.ceilingRuns, "how many times to measure the ceiling (the median is used)")
	fs.IntVar(&c.runs, "runs", c.runs, "how many times to measure each loopback case (the run with the median MB/s is reported)")
	fs.BoolVar(&c.warmup, "warmup", c.warmup, "run each loopback case once, unmeasured, before measuring it")
	fs.DurationVar(&c.caseTimeout, "case-timeout", 0, "give up on a case after this long (default: from the size)")
	fs.StringVar(&c.internal.role, "internal-role", "", "internal: run as a ceiling process (source, sealed-source, proxy, sink, open-sink) or as the spawner of a measured command (spawn)")
	fs.StringVar(&c.internal.addr, "internal-addr", "", "internal: address to connect to")
	fs.StringVar(&c.internal.file, "internal-file", "", "internal: file the source sends, or where spawn writes the rusage")
	fs.Int64Var(&c.internal.expect, "internal-expect", -1, "internal: bytes the sink must receive")
	fs.StringVar(&c.internal.key, "internal-key", "", "internal: key of sealed-source and open-sink")
	fs.DurationVar(&c.internal.timeout, "internal-timeout", 10*time.Minute, "internal: give up after this long")
	if err := fs.Parse(args); err != nil {
		return config{}, err
	}
	if c.internal.role == "spawn" {
		c.internal.argv = fs.Args()
		return c, nil
	}
	if fs.NArg() > 0 {
		return config{}, fmt.Errorf("unexpected argument %q: every option is a flag (see -help)", fs.Arg(0))
	}
	if c.internal.role != "" {
		return c, nil
	}
	var err error
	if c.size, err = parseSize(sizeText); err != nil {
		return config{}, fmt.Errorf("-size: %w", err)
	}
	if c.size < mib {
		return config{}, fmt.Errorf("-size must be at least 1MiB, not %s", sizeText)
	}
	if c.cases, err = parseCases(casesText); err != nil {
		return config{}, fmt.Errorf("-cases: %w", err)
	}
	if c.smallFiles < 1 || c.smallFiles > 1_000_000 {
		return config{}, fmt.Errorf("-files must be between 1 and 1000000, not %d", c.smallFiles)
	}
	if _, err := transfer.ParseCompression(c.compress); err != nil {
		return config{}, fmt.Errorf("-compress must be auto, on or off, not %q", c.compress)
	}
	if c.ceilingRuns < 1 || c.ceilingRuns > 20 {
		return config{}, fmt.Errorf("-ceiling-runs must be between 1 and 20, not %d", c.ceilingRuns)
	}
	if c.runs < 1 || c.runs > 20 {
		return config{}, fmt.Errorf("-runs must be between 1 and 20, not %d", c.runs)
	}
	if c.caseTimeout < 0 {
		return config{}, fmt.Errorf("-case-timeout must not be negative")
	}
	return c, nil
}

// parseSize reads a byte count such as 64MiB, 1GiB, 1.5G, 500MB or 4096.
// K, M and G without a B mean powers of 1024; KB, MB and GB powers of 1000.
func parseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	i := len(t)
	for i > 0 && (t[i-1] < '0' || t[i-1] > '9') && t[i-1] != '.' {
		i--
	}
	num, unit := strings.TrimSpace(t[:i]), strings.ToLower(strings.TrimSpace(t[i:]))
	if num == "" {
		return 0, fmt.Errorf("%q is not a size (try 64MiB or 1GiB)", s)
	}
	mult := map[string]float64{
		"": 1, "b": 1,
		"k": kib, "kib": kib, "kb": 1e3,
		"m": mib, "mib": mib, "mb": 1e6,
		"g": gib, "gib": gib, "gb": 1e9,
		"t": 1 << 40, "tib": 1 << 40, "tb": 1e12,
	}[unit]
	if mult == 0 {
		return 0, fmt.Errorf("%q has an unknown unit %q (use B, KiB, MiB, GiB, KB, MB or GB)", s, t[i:])
	}
	v, err := strconv.ParseFloat(num, 64)
	if err != nil || v < 0 || math.IsInf(v, 0) || math.IsNaN(v) {
		return 0, fmt.Errorf("%q is not a size (try 64MiB or 1GiB)", s)
	}
	b := v * mult
	if b >= 1<<62 {
		return 0, fmt.Errorf("%q is too large", s)
	}
	return int64(math.Round(b)), nil
}

// formatSize prints a byte count with a binary unit, for people.
func formatSize(n int64) string {
	switch {
	case n >= gib:
		return strconv.FormatFloat(float64(n)/gib, 'f', 2, 64) + " GiB"
	case n >= mib:
		return strconv.FormatFloat(float64(n)/mib, 'f', 1, 64) + " MiB"
	case n >= kib:
		return strconv.FormatFloat(float64(n)/kib, 'f', 1, 64) + " KiB"
	}
	return strconv.FormatInt(n, 10) + " B"
}

// parseCases reads a comma-separated list of case names and returns them
// in their running order, without duplicates.
func parseCases(s string) ([]string, error) {
	seen := map[string]bool{}
	for _, name := range strings.Split(s, ",") {
		name = strings.ToLower(strings.TrimSpace(name))
		switch {
		case name == "":
			continue
		case name == "all":
			for _, c := range allCases {
				seen[c] = true
			}
		case slices.Contains(allCases, name):
			seen[name] = true
		default:
			return nil, fmt.Errorf("unknown case %q (known: %s)", name, strings.Join(allCases, ", "))
		}
	}
	var out []string
	for _, c := range allCases {
		if seen[c] {
			out = append(out, c)
		}
	}
	if len(out) == 0 {
		return nil, errors.New("no case selected")
	}
	return out, nil
}

// caseTimeoutFor bounds one transfer of n bytes: generous enough for a slow
// bob (20 MB/s, or the rate-limited link), short enough that a hang ends.
func (c config) caseTimeoutFor(n int64, bytesPerSec float64) time.Duration {
	if c.caseTimeout > 0 {
		return c.caseTimeout
	}
	return time.Minute + time.Duration(float64(n)/bytesPerSec*float64(time.Second))
}
