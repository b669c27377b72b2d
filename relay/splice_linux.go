package relay

import (
	"errors"
	"fmt"
	"net"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// spliceCopier moves bytes from one socket to another through a pipe of its
// own, with splice(2): the bytes never enter user space. Go's own splice
// (io.Copy between TCP connections) takes its pipes from a pool that closes
// them only when the garbage collector runs, which left thousands of
// descriptors open long after their pairs ended. This pipe is closed the
// moment its direction ends.
type spliceCopier struct {
	src, dst syscall.RawConn
	pr, pw   int // the pipe's read and write ends
}

// newChunkCopier returns a splicing copier from src to dst, or, when the
// pipe cannot be had, a user-space copier with the error that explains why.
func newChunkCopier(src, dst net.Conn) (chunkCopier, error) {
	sc, ok1 := src.(syscall.Conn)
	dc, ok2 := dst.(syscall.Conn)
	if !ok1 || !ok2 {
		return newBufCopier(src, dst), nil
	}
	srw, err1 := sc.SyscallConn()
	drw, err2 := dc.SyscallConn()
	if err := errors.Join(err1, err2); err != nil {
		return newBufCopier(src, dst), err
	}
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC|unix.O_NONBLOCK); err != nil {
		return newBufCopier(src, dst), fmt.Errorf("creating a splice pipe: %w", os.NewSyscallError("pipe2", err))
	}
	// A bigger pipe moves a chunk in fewer calls. The kernel may refuse
	// (per-user pipe memory limits); the default 64 KiB works too.
	unix.FcntlInt(uintptr(p[1]), unix.F_SETPIPE_SZ, chunkSize) //nolint:errcheck // see above
	return &spliceCopier{src: srw, dst: drw, pr: p[0], pw: p[1]}, nil
}

const spliceFlags = unix.SPLICE_F_MOVE | unix.SPLICE_F_NONBLOCK

func (c *spliceCopier) copyChunk() (int64, bool, error) {
	// The pipe is empty here, so EAGAIN can only mean src has nothing to
	// read: RawConn then waits for it, up to the read deadline.
	var n int64
	var serr error
	err := c.src.Read(func(fd uintptr) bool {
		n, serr = unix.Splice(int(fd), nil, c.pw, nil, chunkSize, spliceFlags)
		return serr != unix.EAGAIN && serr != unix.EINTR
	})
	if err == nil && serr != nil {
		err = os.NewSyscallError("splice", serr)
	}
	if err != nil {
		return 0, false, err
	}
	if n == 0 {
		return 0, true, nil
	}
	for left := n; left > 0; {
		var m int64
		err := c.dst.Write(func(fd uintptr) bool {
			m, serr = unix.Splice(c.pr, nil, int(fd), nil, int(left), spliceFlags)
			return serr != unix.EAGAIN && serr != unix.EINTR
		})
		if err == nil && serr != nil {
			err = os.NewSyscallError("splice", serr)
		}
		if err == nil && m == 0 {
			err = errors.New("splice: the pipe ran dry")
		}
		if err != nil {
			return n - left, false, err
		}
		left -= m
	}
	return n, false, nil
}

func (c *spliceCopier) close() {
	unix.Close(c.pr) //nolint:errcheck // a pipe's close cannot lose data
	unix.Close(c.pw) //nolint:errcheck // a pipe's close cannot lose data
}
