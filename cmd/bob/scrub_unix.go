//go:build unix

package main

import "unsafe"

// scrubArgs overwrites the secret part of each argument in place. The Go
// runtime's os.Args point into the memory the kernel shows other local
// users as this process's command line (/proc/PID/cmdline, ps), so this
// takes the code's words out of their sight from the first moments on. It
// must run before anything keeps a reference into os.Args: main copies
// them first.
func scrubArgs(args []string) {
	for i, keep := range secretArgs(args) {
		if keep >= len(args[i]) {
			continue
		}
		b := unsafe.Slice(unsafe.StringData(args[i]), len(args[i]))
		for j := keep; j < len(b); j++ {
			b[j] = 'x'
		}
	}
}
