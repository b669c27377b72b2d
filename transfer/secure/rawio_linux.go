package secure

import (
	"io"
	"syscall"
	"unsafe"
)

// Socket reads and writes of the channel skip the Go scheduler's
// system-call bookkeeping. A read or write of a nonblocking socket never
// waits: it copies what it can and returns, or reports EAGAIN, and then the
// goroutine waits in the poller as usual (syscall.RawConn, which also keeps
// deadlines). Go's ordinary wrapper marks the goroutine's P as in a system
// call, and one that lasts over 20 µs, as copying a megabyte does, has its
// P handed to another thread by sysmon, which then keeps polling every
// 20 µs; in a loopback transfer that cost each peer a tenth of its CPU.
// RawSyscall leaves the P alone.

// rawReader reads a socket with raw read(2) calls.
type rawReader struct{ rc syscall.RawConn }

// rawWriter writes a socket with raw write(2) calls.
type rawWriter struct{ rc syscall.RawConn }

// rawSocket returns the RawConn of rw if it is a socket (or another
// syscall.Conn), else nil.
func rawSocket(rw any) syscall.RawConn {
	sc, ok := rw.(syscall.Conn)
	if !ok {
		return nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	return rc
}

// withRawReads returns a reader of r that reads with raw system calls if r
// is a socket, else r.
func withRawReads(r io.Reader) io.Reader {
	if rc := rawSocket(r); rc != nil {
		return rawReader{rc}
	}
	return r
}

// withRawWrites is withRawReads for writes.
func withRawWrites(w io.Writer) io.Writer {
	if rc := rawSocket(w); rc != nil {
		return rawWriter{rc}
	}
	return w
}

func (r rawReader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	var n int
	var errno syscall.Errno
	err := r.rc.Read(func(fd uintptr) bool {
		for {
			got, _, e := syscall.RawSyscall(syscall.SYS_READ, fd, uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)))
			switch e {
			case syscall.EINTR:
				continue
			case syscall.EAGAIN:
				return false // wait in the poller
			}
			n, errno = int(got), e
			return true
		}
	})
	switch {
	case err != nil:
		return 0, err
	case errno != 0:
		return 0, errno
	case n == 0:
		return 0, io.EOF
	}
	return n, nil
}

func (w rawWriter) Write(p []byte) (int, error) {
	written := 0
	var errno syscall.Errno
	err := w.rc.Write(func(fd uintptr) bool {
		for written < len(p) {
			n, _, e := syscall.RawSyscall(syscall.SYS_WRITE, fd, uintptr(unsafe.Pointer(&p[written])), uintptr(len(p)-written))
			switch e {
			case 0:
				written += int(n)
			case syscall.EINTR:
			case syscall.EAGAIN:
				return false // wait in the poller for room
			default:
				errno = e
				return true
			}
		}
		return true
	})
	switch {
	case err != nil:
		return written, err
	case errno != 0:
		return written, errno
	}
	return written, nil
}
