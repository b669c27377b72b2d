package transfer

import (
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"

	"github.com/bob-p2p/bob/transfer/internal/sysio"
)

// fileSink writes a part file; runs of zero blocks become holes.
//
// Large new files are written with direct I/O where the system has it
// (O_DIRECT on Linux): the data goes to the disk without being copied into
// the page cache and written back later, which was a third of the
// receiver's CPU time. Records whose data is aligned (the sender cuts
// blocks of whole disk blocks, and the channel decrypts each record's data
// to an aligned address) are not copied at all: the sink holds their
// buffers and writes a megabyte of them with one vectored write. Other
// data is copied into an aligned buffer first. Anything that breaks the
// alignment direct I/O needs (a hole at an odd offset, the file's last
// partial block, a file system that refuses it) switches the file back to
// ordinary writes for the rest of it, so the bytes written never depend on
// the mode.
type fileSink struct {
	f     *os.File
	pos   int64 // bytes of the file received, pending ones included
	holes bool

	// directOn: f is in direct mode. Pending bytes are either held record
	// buffers (held, at pos-heldBytes) or copies in direct (at
	// pos-len(direct)), never both.
	directOn  bool
	direct    []byte  // nil until the first copy
	directBuf *[]byte // the aligned copy buffer, shared between files
	held      [][]byte
	heldBufs  []*[]byte
	heldBytes int
	release   func(*[]byte) // gives a held record buffer back
	vectors   sysio.VectorWriter
	align     int // directAlign; lowered by tests to provoke refusals

	// writeback is where the last sysio.StartWriteback hint ended; noWriteback
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
// the aligned copy buffer between files; release takes back the record
// buffers passed to hold.
func newFileSink(f *os.File, size int64, buf *[]byte, release func(*[]byte)) *fileSink {
	return newFileSinkAt(f, 0, size, buf, release)
}

// newFileSinkAt is newFileSink for a part file that already holds its first
// offset bytes (a resumed transfer): direct mode needs the rest to be large
// and to start on a disk block boundary, as it does when the earlier
// transfer stopped between the sender's blocks.
func newFileSinkAt(f *os.File, offset, size int64, buf *[]byte, release func(*[]byte)) *fileSink {
	s := &fileSink{f: f, pos: offset, directBuf: buf, release: release, align: directAlign}
	s.directOn = size-offset >= directMinSize && offset%directAlign == 0 && sysio.SetDirect(f, true) == nil
	return s
}

func (s *fileSink) write(p []byte) error {
	if s.directOn {
		return s.writeDirect(p)
	}
	n, err := s.f.WriteAt(p, s.pos)
	s.pos += int64(n)
	if err != nil {
		return s.writeError(err)
	}
	if !s.noWriteback && s.pos-s.writeback >= writebackChunk {
		s.noWriteback = !sysio.StartWriteback(s.f, s.writeback, s.pos-s.writeback)
		s.writeback = s.pos
	}
	return nil
}

// hold writes p, which lies in the pooled record buffer b. In direct mode,
// when p is aligned, the sink keeps b until p is on disk rather than
// copying it; it reports whether it did. If not, p was written or copied
// and b is the caller's again.
func (s *fileSink) hold(p []byte, b *[]byte) (kept bool, err error) {
	if !s.directOn || len(s.direct) != 0 || len(p) == 0 || len(p)%s.align != 0 || sysio.AddressOf(p)%uintptr(s.align) != 0 {
		return false, s.write(p)
	}
	s.held = append(s.held, p)
	s.heldBufs = append(s.heldBufs, b)
	s.heldBytes += len(p)
	s.pos += int64(len(p))
	if s.heldBytes >= directBufSize {
		return true, s.flushHeld()
	}
	return true, nil
}

// flushHeld writes the held records with vectored direct writes and gives
// their buffers back. If the file system refuses (EINVAL), the rest goes
// the ordinary way and the file leaves direct mode.
func (s *fileSink) flushHeld() error {
	if len(s.held) == 0 {
		return nil
	}
	defer s.dropHeld()
	at := s.pos - int64(s.heldBytes)
	rest := s.held
	for len(rest) > 0 {
		n, err := s.vectors.WriteAt(s.f, rest, at)
		at += int64(n)
		rest = skipBytes(rest, n)
		switch {
		case err == nil && n > 0:
			continue
		case err == nil:
			return s.writeError(io.ErrShortWrite)
		case !errors.Is(err, syscall.EINVAL):
			return s.writeError(err)
		}
		// The file system took the flag but not this write (or a short
		// write left the rest unaligned): carry on without it.
		s.directOn = false
		if err := sysio.SetDirect(s.f, false); err != nil {
			return s.writeError(err)
		}
		for _, p := range rest {
			if _, err := s.f.WriteAt(p, at); err != nil {
				return s.writeError(err)
			}
			at += int64(len(p))
		}
		return nil
	}
	return nil
}

// dropHeld gives the held buffers back without writing them.
func (s *fileSink) dropHeld() {
	for i, b := range s.heldBufs {
		s.release(b)
		s.heldBufs[i], s.held[i] = nil, nil
	}
	s.held, s.heldBufs, s.heldBytes = s.held[:0], s.heldBufs[:0], 0
}

// skipBytes drops the first n bytes of v.
func skipBytes(v [][]byte, n int) [][]byte {
	for len(v) > 0 && n >= len(v[0]) {
		n -= len(v[0])
		v = v[1:]
	}
	if len(v) > 0 && n > 0 {
		v = append([][]byte{v[0][n:]}, v[1:]...)
	}
	return v
}

func (s *fileSink) writeDirect(p []byte) error {
	if err := s.flushHeld(); err != nil {
		return err
	}
	if !s.directOn {
		return s.write(p)
	}
	if s.direct == nil {
		if *s.directBuf == nil {
			*s.directBuf = alignedBuffer(directBufSize, directAlign)
		}
		s.direct = (*s.directBuf)[:0]
	}
	for len(p) > 0 {
		n := copy(s.direct[len(s.direct):cap(s.direct)], p)
		s.direct = s.direct[:len(s.direct)+n]
		s.pos += int64(n)
		p = p[n:]
		if len(s.direct) == cap(s.direct) {
			if err := s.flushDirect(); err != nil {
				return err
			}
			if !s.directOn {
				// The file system refused direct writes: the rest goes
				// the ordinary way.
				return s.write(p)
			}
		}
	}
	return nil
}

// flushDirect writes the whole blocks of the copy buffer and keeps the
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

// leaveDirect writes what is pending with ordinary writes and stays in
// ordinary mode.
func (s *fileSink) leaveDirect() error {
	if err := s.flushHeld(); err != nil {
		return err
	}
	if !s.directOn {
		return nil
	}
	pending := s.direct
	s.direct, s.directOn = nil, false
	if err := sysio.SetDirect(s.f, false); err != nil {
		return s.writeError(err)
	}
	if len(pending) == 0 {
		return nil
	}
	s.pos -= int64(len(pending))
	return s.write(pending)
}

func (s *fileSink) zeros(n int) error {
	if s.directOn {
		if err := s.flushHeld(); err != nil {
			return err
		}
		if err := s.flushDirect(); err != nil {
			return err
		}
		// A hole keeps direct mode only if what follows it stays aligned.
		if s.directOn && (len(s.direct) != 0 || n%directAlign != 0) {
			if err := s.leaveDirect(); err != nil {
				return err
			}
		}
	}
	s.pos += int64(n)
	s.holes = true
	return nil
}

// finish writes what is still pending; the file is then complete and in
// ordinary mode, ready to be synced and renamed.
func (s *fileSink) finish() error {
	if !s.directOn {
		return nil
	}
	if err := s.flushHeld(); err != nil {
		return err
	}
	if err := s.flushDirect(); err != nil {
		return err
	}
	return s.leaveDirect()
}

func (s *fileSink) writeError(err error) error {
	return fmt.Errorf("writing %s: %w", s.f.Name(), diskError(err))
}

// Close closes the file without writing what is pending: it is called
// when a transfer stops part way, and the part file then holds a clean
// prefix of the file to resume from.
func (s *fileSink) Close() error {
	s.dropHeld()
	return s.f.Close()
}

// alignedBuffer returns size bytes whose address is a multiple of align.
func alignedBuffer(size, align int) []byte {
	b := make([]byte, size+align)
	off := 0
	if r := int(sysio.AddressOf(b) % uintptr(align)); r != 0 {
		off = align - r
	}
	return b[off : off+size : off+size]
}
