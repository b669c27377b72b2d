//go:build !linux

// Command bench measures bob end to end. It needs Linux: it reads peak
// memory and CPU from rusage, measures the ceiling with splice and builds
// rate-limited links with network namespaces.
package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprintln(os.Stderr, "bench: runs on Linux only (rusage, splice and network namespaces)")
	os.Exit(1)
}
