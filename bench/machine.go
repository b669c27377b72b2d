//go:build linux

package main

import (
	"bufio"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// machine names what the figures were measured on.
type machine struct {
	CPU    string `json:"cpu"`
	Cores  int    `json:"cores"`
	Go     string `json:"go"` // the toolchain that built bob
	OS     string `json:"os"`
	Kernel string `json:"kernel"`
	// Load averages over one minute, read at the start and the end of the
	// run: other work on the machine lowers every figure.
	LoadStart float64 `json:"load_start"`
	LoadEnd   float64 `json:"load_end"`
}

// loadAverage returns the one-minute load average, or -1 when unknown.
func loadAverage() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return -1
	}
	return parseLoadAvg(string(b))
}

func parseLoadAvg(s string) float64 {
	f := strings.Fields(s)
	if len(f) == 0 {
		return -1
	}
	v, err := strconv.ParseFloat(f[0], 64)
	if err != nil || v < 0 {
		return -1
	}
	return v
}

// busyNote warns when the machine was not idle enough for fair figures.
func busyNote(m machine) string {
	// Only the load before the run tells of other work: at the end the
	// one-minute average is mostly the benchmark's own three processes.
	if m.Cores < 1 || m.LoadStart < 0.5*float64(m.Cores) {
		return ""
	}
	return fmt.Sprintf("the machine was busy (load average %.1f at start, %.1f at end, on %d cores): other work lowers these figures; rerun on an idle machine", m.LoadStart, m.LoadEnd, m.Cores)
}

func describeMachine(goVersion string) machine {
	m := machine{Cores: runtime.NumCPU(), Go: goVersion, OS: runtime.GOOS + "/" + runtime.GOARCH, CPU: "unknown", LoadStart: loadAverage()}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		if name := cpuModel(string(b)); name != "" {
			m.CPU = name
		}
	}
	var u unix.Utsname
	if unix.Uname(&u) == nil {
		m.Kernel = unix.ByteSliceToString(u.Release[:])
	}
	if m.Go == "" {
		m.Go = runtime.Version()
	}
	return m
}

// cpuModel returns the first "model name" (x86) or, failing that, the first
// "Model"/"Hardware" (ARM) of /proc/cpuinfo.
func cpuModel(cpuinfo string) string {
	var fallback string
	sc := bufio.NewScanner(strings.NewReader(cpuinfo))
	for sc.Scan() {
		key, value, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		key, value = strings.TrimSpace(key), strings.Join(strings.Fields(value), " ")
		switch key {
		case "model name":
			if value != "" {
				return value
			}
		case "Model", "Hardware":
			if fallback == "" {
				fallback = value
			}
		}
	}
	return fallback
}

// syncFS writes every dirty page of the file system that holds dir to disk.
func syncFS(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	return unix.Syncfs(int(f.Fd()))
}
