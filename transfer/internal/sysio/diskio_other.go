//go:build !linux

package sysio

import (
	"errors"
	"io"
	"os"
)

// SyncFiles makes the data of files durable.
func SyncFiles(files []*os.File) error {
	for _, f := range files {
		if err := f.Sync(); err != nil {
			return err
		}
	}
	return nil
}

// StartWriteback is a Linux hint (sync_file_range); elsewhere the final
// fsync does all the work.
func StartWriteback(*os.File, int64, int64) bool { return false }

// SetDirect: direct I/O is used on Linux only; elsewhere files are written
// through the page cache.
func SetDirect(*os.File, bool) error { return errors.ErrUnsupported }

func AddressOf([]byte) uintptr { return 0 }

// VectorWriter writes buffers one after the other (direct writes, which
// gather them on Linux, are not used elsewhere).
type VectorWriter struct{}

// writeAt writes the buffers of v, in order, at offset off of f.
func (VectorWriter) WriteAt(f *os.File, v [][]byte, off int64) (n int, err error) {
	for _, b := range v {
		m, err := f.WriteAt(b, off+int64(n))
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// SourceReader returns how the sender reads a file it sends.
func SourceReader(f *os.File) io.Reader { return f }
