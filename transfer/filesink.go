package transfer

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// fileSink writes a part file; runs of zero blocks become holes.
//
// Large new files are written with direct I/O where the system has it
// (O_DIRECT on Linux): the data goes from an aligned buffer to the disk
// without being copied into the page cache and written back later, which
// was a third of the receiver's CPU time. Anything that breaks the
// alignment direct I/O needs (a hole at an odd offset, the file's last
// partial block, a file system that refuses it) switches the file back to
// ordinary writes for the rest of it, so the bytes written never depend on
// the mode.
type fileSink struct {
	f     *os.File
	pos   int64 // bytes of the file received, buffered ones included
	holes bool

	// direct holds the bytes not yet written while the file is in direct
	// mode (nil otherwise); they belong at pos-len(direct).
	direct []byte

	// writeback is where the last startWriteback hint ended; noWriteback
	// is set once the system turned the hint down.
	writeback   int64
	noWriteback bool
}

// Direct I/O parameters: offsets, lengths and memory must be multiples of
// directAlign (the largest logical block size in use); files smaller than
// directMinSize are not worth it.
const (
	directAlign   = 4096
	directBufSize = 1 << 20
	directMinSize = 8 << 20
)

// writebackChunk is how much a sink writes between two writeback hints:
// large enough that the hint costs nothing, small enough that the final
// fsync has little left to do.
const writebackChunk = 8 << 20

// newFileSink returns the sink of a new, empty part file of size bytes,
// in direct mode when it is large and the file system allows it. buf keeps
// the aligned buffer between files.
func newFileSink(f *os.File, size int64, buf *[]byte) *fileSink {
	s := &fileSink{f: f}
	if size < directMinSize || setDirect(f, true) != nil {
		return s
	}
	if *buf == nil {
		*buf = alignedBuffer(directBufSize, directAlign)
	}
	s.direct = (*buf)[:0]
	return s
}

func (s *fileSink) write(p []byte) error {
	if s.direct != nil {
		return s.writeDirect(p)
	}
	n, err := s.f.WriteAt(p, s.pos)
	s.pos += int64(n)
	if err != nil {
		return s.writeError(err)
	}
	if !s.noWriteback && s.pos-s.writeback >= writebackChunk {
		s.noWriteback = !startWriteback(s.f, s.writeback, s.pos-s.writeback)
		s.writeback = s.pos
	}
	return nil
}

func (s *fileSink) writeDirect(p []byte) error {
	for len(p) > 0 {
		n := copy(s.direct[len(s.direct):cap(s.direct)], p)
		s.direct = s.direct[:len(s.direct)+n]
		s.pos += int64(n)
		p = p[n:]
		if len(s.direct) == cap(s.direct) {
			if err := s.flushDirect(); err != nil {
				return err
			}
			if s.direct == nil {
				// The file system refused direct writes: the rest goes
				// the ordinary way.
				return s.write(p)
			}
		}
	}
	return nil
}

// flushDirect writes the whole blocks of the direct buffer and keeps the
// rest (less than a block) at its start.
func (s *fileSink) flushDirect() error {
	whole := len(s.direct) / directAlign * directAlign
	if whole == 0 {
		return nil
	}
	at := s.pos - int64(len(s.direct))
	if _, err := s.f.WriteAt(s.direct[:whole], at); err != nil {
		if !errors.Is(err, syscall.EINVAL) {
			return s.writeError(err)
		}
		// The file system took the flag but not the write: carry on
		// without it, from the same place.
		return s.leaveDirect()
	}
	rest := copy(s.direct, s.direct[whole:])
	s.direct = s.direct[:rest]
	return nil
}

// leaveDirect writes what the direct buffer holds with ordinary writes and
// stays in ordinary mode.
func (s *fileSink) leaveDirect() error {
	pending := s.direct
	s.direct = nil
	if err := setDirect(s.f, false); err != nil {
		return s.writeError(err)
	}
	if len(pending) == 0 {
		return nil
	}
	s.pos -= int64(len(pending))
	return s.write(pending)
}

func (s *fileSink) zeros(n int) error {
	if s.direct != nil {
		if err := s.flushDirect(); err != nil {
			return err
		}
		// A hole keeps direct mode only if what follows it stays aligned.
		if s.direct != nil && (len(s.direct) != 0 || n%directAlign != 0) {
			if err := s.leaveDirect(); err != nil {
				return err
			}
		}
	}
	s.pos += int64(n)
	s.holes = true
	return nil
}

// finish writes what is still buffered; the file is then complete and in
// ordinary mode, ready to be synced and renamed.
func (s *fileSink) finish() error {
	if s.direct == nil {
		return nil
	}
	if err := s.flushDirect(); err != nil {
		return err
	}
	if s.direct == nil {
		return nil
	}
	return s.leaveDirect()
}

func (s *fileSink) writeError(err error) error {
	return fmt.Errorf("writing %s: %w", s.f.Name(), diskError(err))
}

// Close closes the file without writing what is buffered: it is called
// when a transfer stops part way, and the part file then holds a clean
// prefix of the file to resume from.
func (s *fileSink) Close() error { return s.f.Close() }

// alignedBuffer returns size bytes whose address is a multiple of align.
func alignedBuffer(size, align int) []byte {
	b := make([]byte, size+align)
	off := 0
	if r := int(addressOf(b) % uintptr(align)); r != 0 {
		off = align - r
	}
	return b[off : off+size : off+size]
}
