//go:build !linux

package relay

import "net"

// newChunkCopier returns a user-space copier: splice(2) is Linux only.
func newChunkCopier(src, dst net.Conn) (chunkCopier, error) {
	return newBufCopier(src, dst), nil
}
