//go:build !(linux || darwin || freebsd)

package transfer

import "os"

// findData cannot find holes here: everything is read.
func findData(_ *os.File, pos, size int64) (data, hole int64, ok bool) {
	return pos, size, false
}
