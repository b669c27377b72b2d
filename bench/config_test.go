//go:build linux

package main

import (
	"errors"
	"flag"
	"io"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParseSize(t *testing.T) {
	good := map[string]int64{
		"4096":   4096,
		"64MiB":  64 << 20,
		"64mib":  64 << 20,
		"1GiB":   1 << 30,
		"1G":     1 << 30,
		"1.5GiB": 3 << 29,
		"500MB":  500e6,
		"2 KiB":  2048,
		"1k":     1024,
		"10B":    10,
		" 8M ":   8 << 20,
	}
	for in, want := range good {
		got, err := parseSize(in)
		if err != nil || got != want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "MiB", "-1MiB", "1.2.3G", "12 parsecs", "1e999", "9999999TiB", "NaN"} {
		if got, err := parseSize(in); err == nil {
			t.Errorf("parseSize(%q) = %d, want an error", in, got)
		}
	}
}

func TestFormatSize(t *testing.T) {
	for n, want := range map[int64]string{
		0:                 "0 B",
		1023:              "1023 B",
		4096:              "4.0 KiB",
		64 << 20:          "64.0 MiB",
		1 << 30:           "1.00 GiB",
		(1 << 30) * 3 / 2: "1.50 GiB",
	} {
		if got := formatSize(n); got != want {
			t.Errorf("formatSize(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestParseCases(t *testing.T) {
	got, err := parseCases("small, RANDOM,small")
	if err != nil || !slices.Equal(got, []string{caseRandom, caseSmall}) {
		t.Errorf("parseCases = %v, %v; want running order without duplicates", got, err)
	}
	got, err = parseCases("all")
	if err != nil || !slices.Equal(got, allCases) {
		t.Errorf("parseCases(all) = %v, %v", got, err)
	}
	if _, err := parseCases("random,bogus"); err == nil || !strings.Contains(err.Error(), "bogus") {
		t.Errorf("unknown case: err = %v, want it named", err)
	}
	if _, err := parseCases(" , "); err == nil {
		t.Error("empty list accepted")
	}
}

func TestParseArgs(t *testing.T) {
	c, err := parseArgs(nil, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.size != 1<<30 || !slices.Equal(c.cases, allCases) || c.smallFiles != 10000 || c.compress != "auto" || c.netns || c.keep ||
		c.runs != 3 || !c.warmup {
		t.Errorf("defaults = %+v", c)
	}

	c, err = parseArgs([]string{"--size", "64MiB", "--cases", "random,compressible", "--out", "r.json", "--keep", "--netns", "-files", "50", "--compress", "off",
		"--runs", "5", "--warmup=false"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.size != 64<<20 || !slices.Equal(c.cases, []string{caseRandom, caseCompressible}) || c.out != "r.json" ||
		!c.keep || !c.netns || c.smallFiles != 50 || c.compress != "off" || c.runs != 5 || c.warmup {
		t.Errorf("parsed = %+v", c)
	}

	for _, args := range [][]string{
		{"--size", "1KiB"},
		{"--size", "lots"},
		{"--cases", "nope"},
		{"--compress", "max"},
		{"--files", "0"},
		{"--ceiling-runs", "0"},
		{"--runs", "0"},
		{"--runs", "21"},
		{"--case-timeout", "-1s"},
		{"extra"},
		{"--no-such-flag"},
	} {
		if _, err := parseArgs(args, io.Discard); err == nil {
			t.Errorf("parseArgs(%q) accepted", args)
		}
	}
	if _, err := parseArgs([]string{"-help"}, io.Discard); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("-help: err = %v, want flag.ErrHelp", err)
	}

	c, err = parseArgs([]string{"-internal-role", "sink", "-internal-expect", "42"}, io.Discard)
	if err != nil || c.internal.role != "sink" || c.internal.expect != 42 {
		t.Errorf("internal role: %+v, %v", c.internal, err)
	}
}

func TestCaseTimeout(t *testing.T) {
	c := config{}
	if got := c.caseTimeoutFor(20e6*30, 20e6); got != 90*time.Second {
		t.Errorf("derived timeout = %v, want 1m30s", got)
	}
	c.caseTimeout = 5 * time.Second
	if got := c.caseTimeoutFor(1<<40, 1); got != 5*time.Second {
		t.Errorf("explicit timeout = %v, want 5s", got)
	}
}
