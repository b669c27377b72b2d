//go:build !unix

package relay

// RaiseFDLimit does nothing where there is no RLIMIT_NOFILE.
func RaiseFDLimit(uint64) (uint64, error) { return 0, nil }

func fdLimit() uint64 { return 0 }

func openFDs() int { return -1 }
