//go:build !linux

package secure

import "io"

// withRawReads: raw socket reads are used on Linux only (see rawio_linux.go).
func withRawReads(r io.Reader) io.Reader { return r }

// withRawWrites: raw socket writes are used on Linux only.
func withRawWrites(w io.Writer) io.Writer { return w }
