//go:build bobprofile

package main

import (
	"fmt"
	"os"
	"runtime/pprof"

	"github.com/bob-p2p/bob/internal/safeterm"
)

// A build with -tags bobprofile writes a CPU profile of each run to the
// file named by BOB_CPUPROFILE (with the process id appended), so that
// `go run ./bench --bob-tags bobprofile` can show where a transfer spends
// its time. Release builds carry none of this (profile_off.go).
func startProfile() (stop func()) {
	base := os.Getenv("BOB_CPUPROFILE")
	if base == "" {
		return func() {}
	}
	f, err := os.Create(fmt.Sprintf("%s.%d", base, os.Getpid()))
	if err != nil {
		fmt.Fprintln(os.Stderr, "bob: profile:", safeterm.Escape(err.Error()))
		return func() {}
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		fmt.Fprintln(os.Stderr, "bob: profile:", safeterm.Escape(err.Error()))
		f.Close()
		return func() {}
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}
}
