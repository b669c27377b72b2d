//go:build !unix

package relay_test

import "time"

func raiseFDLimit() (uint64, error) { return 1 << 12, nil }

func cpuTime() (time.Duration, bool) { return 0, false }
