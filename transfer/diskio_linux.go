package transfer

import (
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
)

// syncFiles makes the data of files durable. One syncfs covers a whole
// batch of small files on the same file system, where an fsync each would
// cost a disk flush each.
func syncFiles(files []*os.File) error {
	switch len(files) {
	case 0:
		return nil
	case 1:
		return files[0].Sync()
	}
	return control(files[0], unix.Syncfs)
}

// startWriteback asks the kernel to start writing the given range of f to
// disk now, without waiting for it. Done as a file is received, it spreads
// the disk writes over the transfer, so the fsync before the rename only
// waits for the last few megabytes rather than the whole file; it also
// keeps the dirty page cache small. It reports whether the hint is
// supported, so that the caller stops trying where it is not.
func startWriteback(f *os.File, off, n int64) bool {
	return control(f, func(fd int) error {
		return unix.SyncFileRange(fd, off, n, unix.SYNC_FILE_RANGE_WRITE)
	}) == nil
}

// setDirect turns O_DIRECT on or off for f.
func setDirect(f *os.File, on bool) error {
	return control(f, func(fd int) error {
		flags, err := unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0)
		if err != nil {
			return err
		}
		if on {
			flags |= unix.O_DIRECT
		} else {
			flags &^= unix.O_DIRECT
		}
		_, err = unix.FcntlInt(uintptr(fd), unix.F_SETFL, flags)
		return err
	})
}

// control runs fn on f's file descriptor.
func control(f *os.File, fn func(fd int) error) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var ferr error
	if err := rc.Control(func(fd uintptr) { ferr = fn(int(fd)) }); err != nil {
		return err
	}
	return ferr
}

func addressOf(b []byte) uintptr { return uintptr(unsafe.Pointer(unsafe.SliceData(b))) }

// writeVectorAt writes the buffers of v, in order, at offset off of f with
// one pwritev.
func writeVectorAt(f *os.File, v [][]byte, off int64) (n int, err error) {
	err = control(f, func(fd int) error {
		var werr error
		for {
			n, werr = unix.Pwritev(fd, v, off)
			if werr != unix.EINTR {
				return werr
			}
		}
	})
	return max(n, 0), err // -1 on error
}
