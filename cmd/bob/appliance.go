//go:build !linux

package main

// runAppliance runs bob as PID 1 of the relay appliance image, which only
// exists on Linux. Elsewhere it reports handled=false.
func runAppliance() (exitCode int, handled bool) { return 0, false }
