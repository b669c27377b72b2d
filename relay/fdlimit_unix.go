//go:build unix

package relay

import (
	"fmt"
	"os"
	"syscall"
)

// RaiseFDLimit lifts this process's soft limit on open files (RLIMIT_NOFILE)
// to its hard limit, first raising the hard limit to want when want is
// larger and the process may (root, as the appliance's PID 1 is; others
// keep their hard limit). It returns the soft limit now in force.
func RaiseFDLimit(want uint64) (uint64, error) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return 0, fmt.Errorf("reading the open-file limit: %w", err)
	}
	if want > uint64(lim.Max) {
		up := syscall.Rlimit{Cur: want, Max: want}
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &up); err == nil {
			return want, nil
		}
	}
	if lim.Cur < lim.Max {
		lim.Cur = lim.Max
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
			return 0, fmt.Errorf("raising the open-file limit to %d: %w", lim.Max, err)
		}
	}
	return uint64(lim.Cur), nil
}

// fdLimit returns the soft limit on open files, or 0 if unknown.
func fdLimit() uint64 {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return 0
	}
	return uint64(lim.Cur)
}

// openFDs counts the descriptors open now, or returns -1 where /proc or
// /dev/fd cannot tell.
func openFDs() int {
	for _, dir := range []string{"/proc/self/fd", "/dev/fd"} {
		if e, err := os.ReadDir(dir); err == nil {
			return len(e) - 1 // the directory being read
		}
	}
	return -1
}
