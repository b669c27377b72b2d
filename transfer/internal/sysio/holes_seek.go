//go:build linux || darwin || freebsd

package sysio

import (
	"errors"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// FindData returns where the next data at or after pos starts and where
// that data ends (the next hole), both capped at size, so that holes of a
// sparse file are sent as zero blocks without being read. ok is false if
// the file system cannot tell; the file offset is then undefined.
func FindData(f *os.File, pos, size int64) (data, hole int64, ok bool) {
	d, err := f.Seek(pos, unix.SEEK_DATA)
	if errors.Is(err, syscall.ENXIO) {
		return size, size, true // only a hole from pos to the end
	}
	if err != nil {
		return pos, size, false
	}
	h, err := f.Seek(d, unix.SEEK_HOLE)
	if err != nil {
		return pos, size, false
	}
	return min(d, size), min(h, size), true
}
