package transfer

import (
	"os"

	"golang.org/x/sys/unix"
)

// startWriteback asks the kernel to start writing the given range of f to
// disk now, without waiting for it. Done as a file is received, it spreads
// the disk writes over the transfer, so the fsync before the rename only
// waits for the last few megabytes rather than the whole file; it also
// keeps the dirty page cache small. It reports whether the hint is
// supported, so that the caller stops trying where it is not.
func startWriteback(f *os.File, off, n int64) bool {
	rc, err := f.SyscallConn()
	if err != nil {
		return false
	}
	var serr error
	if err := rc.Control(func(fd uintptr) {
		serr = unix.SyncFileRange(int(fd), off, n, unix.SYNC_FILE_RANGE_WRITE)
	}); err != nil {
		return false
	}
	return serr == nil
}
