package sysio

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// RawRead and RawWrite are read(2) and write(2) that skip the Go
// scheduler's system-call bookkeeping; they retry EINTR and return any
// other errno (EAGAIN included: the caller decides whether to wait in the
// poller). Go's ordinary wrapper marks the goroutine's P as in a system
// call, and one that lasts over 20 µs, as copying a megabyte does, has its
// P handed to another thread by sysmon, which then keeps polling every
// 20 µs; in a loopback transfer that cost each peer a tenth of its CPU.
// A raw call leaves the P alone, so it suits calls that do not block: a
// nonblocking socket, or a disk read where other Ps can run meanwhile.
func RawRead(fd uintptr, p []byte) (int, unix.Errno) {
	if len(p) == 0 {
		return 0, 0
	}
	for {
		n, _, errno := unix.RawSyscall(unix.SYS_READ, fd, uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)))
		if errno != unix.EINTR {
			return int(n), errno
		}
	}
}

// RawWrite writes what it can of p in one call; see RawRead.
func RawWrite(fd uintptr, p []byte) (int, unix.Errno) {
	if len(p) == 0 {
		return 0, 0
	}
	for {
		n, _, errno := unix.RawSyscall(unix.SYS_WRITE, fd, uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)))
		if errno != unix.EINTR {
			return int(n), errno
		}
	}
}
