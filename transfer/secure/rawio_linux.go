package secure

import (
	"io"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/bob-p2p/bob/transfer/internal/sysio"
)

// Socket reads and writes of the channel skip the Go scheduler's
// system-call bookkeeping (sysio.RawRead says why). A read or write of a
// nonblocking socket never waits: it copies what it can and returns, or
// reports EAGAIN, and then the goroutine waits in the poller as usual
// (syscall.RawConn, which also keeps deadlines).

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
	var errno unix.Errno
	err := r.rc.Read(func(fd uintptr) bool {
		n, errno = sysio.RawRead(fd, p)
		return errno != unix.EAGAIN // else wait in the poller
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
	var errno unix.Errno
	err := w.rc.Write(func(fd uintptr) bool {
		for written < len(p) {
			n, e := sysio.RawWrite(fd, p[written:])
			switch e {
			case 0:
				written += n
			case unix.EAGAIN:
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
