//go:build !unix

package transfer

import "io/fs"

// readChecker tells whether this process may read a file; without Unix
// permission bits to go by, it opens the file.
type readChecker struct{}

func newReadChecker() readChecker { return readChecker{} }

func (readChecker) mayRead(path string, _ fs.FileInfo) error { return checkReadable(path) }
