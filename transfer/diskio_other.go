//go:build !linux

package transfer

import (
	"errors"
	"io"
	"os"
)

// syncFiles makes the data of files durable.
func syncFiles(files []*os.File) error {
	for _, f := range files {
		if err := f.Sync(); err != nil {
			return err
		}
	}
	return nil
}

// startWriteback is a Linux hint (sync_file_range); elsewhere the final
// fsync does all the work.
func startWriteback(*os.File, int64, int64) bool { return false }

// setDirect: direct I/O is used on Linux only; elsewhere files are written
// through the page cache.
func setDirect(*os.File, bool) error { return errors.ErrUnsupported }

func addressOf([]byte) uintptr { return 0 }

// vectorWriter writes buffers one after the other (direct writes, which
// gather them on Linux, are not used elsewhere).
type vectorWriter struct{}

// writeAt writes the buffers of v, in order, at offset off of f.
func (vectorWriter) writeAt(f *os.File, v [][]byte, off int64) (n int, err error) {
	for _, b := range v {
		m, err := f.WriteAt(b, off+int64(n))
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// sourceReader returns how the sender reads a file it sends.
func sourceReader(f *os.File) io.Reader { return f }
