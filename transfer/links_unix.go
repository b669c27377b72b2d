//go:build unix

package transfer

import (
	"io/fs"
	"syscall"
)

// linkCount is how many names a file has; a part file with more than one
// may be a hard link someone planted to another file.
func linkCount(fi fs.FileInfo) uint64 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return uint64(st.Nlink)
	}
	return 1
}
