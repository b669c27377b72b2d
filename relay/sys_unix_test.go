//go:build unix

package relay_test

import (
	"syscall"
	"time"

	"github.com/bob-p2p/bob/relay"
)

// raiseFDLimit lifts the soft limit on open files to the hard one and
// returns it.
func raiseFDLimit() (uint64, error) { return relay.RaiseFDLimit(0) }

// cpuTime returns the user and system CPU time this process has used.
func cpuTime() (time.Duration, bool) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, false
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), true
}
