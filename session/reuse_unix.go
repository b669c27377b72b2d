//go:build unix

package session

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// reusePort lets a socket share its local port with the relay connection:
// hole punching opens the direct connection from the port the peer's NAT
// mapping was learnt for.
func reusePort(_, _ string, c syscall.RawConn) error {
	var err error
	if cerr := c.Control(func(fd uintptr) {
		if err = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEADDR, 1); err == nil {
			err = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEPORT, 1)
		}
	}); cerr != nil {
		return cerr
	}
	return err
}
