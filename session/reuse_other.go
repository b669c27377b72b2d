//go:build !unix

package session

import "syscall"

// reusePort does nothing here: without a shared port, hole punching fails
// and the transfer keeps the relay's path.
func reusePort(_, _ string, _ syscall.RawConn) error { return nil }
