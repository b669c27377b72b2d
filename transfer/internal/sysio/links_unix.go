//go:build unix

package sysio

import (
	"io/fs"
	"syscall"
)

// LinkCount is how many names a file has; a part file with more than one
// may be a hard link someone planted to another file.
func LinkCount(fi fs.FileInfo) uint64 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return uint64(st.Nlink)
	}
	return 1
}
