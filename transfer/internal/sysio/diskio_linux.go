package sysio

import (
	"io"
	"math/bits"
	"os"
	"runtime"
	"unsafe"

	"golang.org/x/sys/unix"
)

// SyncFiles makes the data of files durable. One syncfs covers a whole
// batch of small files on the same file system, where an fsync each would
// cost a disk flush each.
func SyncFiles(files []*os.File) error {
	switch len(files) {
	case 0:
		return nil
	case 1:
		return files[0].Sync()
	}
	return control(files[0], unix.Syncfs)
}

// StartWriteback asks the kernel to start writing the given range of f to
// disk now, without waiting for it. Done as a file is received, it spreads
// the disk writes over the transfer, so the fsync before the rename only
// waits for the last few megabytes rather than the whole file; it also
// keeps the dirty page cache small. It reports whether the hint is
// supported, so that the caller stops trying where it is not.
func StartWriteback(f *os.File, off, n int64) bool {
	return control(f, func(fd int) error {
		return unix.SyncFileRange(fd, off, n, unix.SYNC_FILE_RANGE_WRITE)
	}) == nil
}

// SetDirect turns O_DIRECT on or off for f.
func SetDirect(f *os.File, on bool) error {
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

func AddressOf(b []byte) uintptr { return uintptr(unsafe.Pointer(unsafe.SliceData(b))) }

// VectorWriter writes buffers with pwritev. It keeps its iovec array
// between writes: a transfer makes a thousand of them per GiB, and the
// garbage of allocating one each time showed as the receiver's memory
// growing with the size of the file.
type VectorWriter struct{ iov []unix.Iovec }

// writeAt writes the buffers of v, in order, at offset off of f.
func (w *VectorWriter) WriteAt(f *os.File, v [][]byte, off int64) (int, error) {
	w.iov = w.iov[:0]
	for _, b := range v {
		if len(b) > 0 {
			iov := unix.Iovec{Base: &b[0]}
			iov.SetLen(len(b))
			w.iov = append(w.iov, iov)
		}
	}
	if len(w.iov) == 0 {
		return 0, nil
	}
	lo, hi := uintptr(off), uintptr(uint64(off)>>(bits.UintSize-1)>>1)
	call := unix.Syscall6
	if rawDiskIO() {
		call = unix.RawSyscall6
	}
	for {
		n, _, errno := call(unix.SYS_PWRITEV, f.Fd(), uintptr(unsafe.Pointer(&w.iov[0])), uintptr(len(w.iov)), lo, hi, 0)
		runtime.KeepAlive(f)
		switch errno {
		case 0:
			clear(w.iov) // no pointers into record buffers kept
			return int(n), nil
		case unix.EINTR:
			continue
		}
		clear(w.iov)
		return 0, errno
	}
}

// A transfer's disk reads and writes skip the Go scheduler's system-call
// bookkeeping, as its socket I/O does (RawRead says why: it was a tenth of
// each peer's CPU). Unlike a socket, a disk may make
// the call wait, and a raw call keeps its P meanwhile; so this is done only
// where other Ps can run the transfer's other goroutines in the meantime.
func rawDiskIO() bool { return runtime.GOMAXPROCS(0) > 1 }

// SourceReader returns how the sender reads a file it sends: raw read(2)
// calls at the file's offset (so Seek still applies) where rawDiskIO allows.
func SourceReader(f *os.File) io.Reader {
	if !rawDiskIO() {
		return f
	}
	return rawFileReader{f}
}

type rawFileReader struct{ f *os.File }

func (r rawFileReader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	n, errno := RawRead(r.f.Fd(), p)
	runtime.KeepAlive(r.f)
	switch {
	case errno != 0:
		return 0, &os.PathError{Op: "read", Path: r.f.Name(), Err: errno}
	case n == 0:
		return 0, io.EOF
	}
	return n, nil
}
