package main

// runAppliance runs bob as PID 1 of the relay appliance image, where it must
// bring the machine up before serving. It reports handled=false elsewhere.
// Owned by the relay image work (relay/appliance).
func runAppliance() (exitCode int, handled bool) { return 0, false }
