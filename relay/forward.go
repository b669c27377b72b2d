package relay

import (
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"sync/atomic"
	"time"
)

// chunkSize is how many bytes one splice call may move before the copier
// counts them and re-arms its deadlines.
const chunkSize = 1 << 20

// forward copies bytes both ways between a and b until both directions
// have ended, and returns how many went each way. A clean end of one
// direction is passed on as a half-close, so the last bytes always arrive;
// an error or the idle timeout ends both.
func (s *Server) forward(log *slog.Logger, a, b *conn) (aToB, bToA int64) {
	p := &pairState{}
	p.last.Store(time.Now().UnixNano())
	done := make(chan struct{})
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer close(done)
		bToA = s.pipe(log, p, b, a)
	}()
	aToB = s.pipe(log, p, a, b)
	<-done
	return aToB, bToA
}

// pairState is what the two directions of a pair share.
type pairState struct {
	last    atomic.Int64 // unix nanoseconds of the latest byte either way
	aborted atomic.Bool
}

// fdsPerConn is what one paired connection costs in file descriptors: its
// socket, and the two ends of the splice pipe of the direction it reads.
const fdsPerConn = 3

// chunkCopier moves up to chunkSize bytes from one connection to another
// per call, and reports the end of its source.
type chunkCopier interface {
	copyChunk() (n int64, eof bool, err error)
	close()
}

// bufCopier copies through a buffer in user space.
type bufCopier struct {
	src, dst net.Conn
	buf      []byte
}

func newBufCopier(src, dst net.Conn) *bufCopier {
	return &bufCopier{src: src, dst: dst, buf: make([]byte, 32<<10)}
}

func (c *bufCopier) copyChunk() (int64, bool, error) {
	lr := io.LimitedReader{R: c.src, N: chunkSize}
	// Hiding dst's ReadFrom keeps io.CopyBuffer off Go's pooled splice
	// pipes, which stay open until a garbage collection.
	n, err := io.CopyBuffer(struct{ io.Writer }{c.dst}, &lr, c.buf)
	return n, err == nil && lr.N > 0, err
}

func (c *bufCopier) close() {}

// pipe copies src to dst, in chunks so the byte counter and the deadlines
// keep up. On Linux it splices through a pipe of its own, closed on return.
func (s *Server) pipe(log *slog.Logger, p *pairState, src, dst *conn) (total int64) {
	cp, err := newChunkCopier(src.raw, dst.raw)
	if err != nil {
		log.Debug("copying in user space", "err", err)
	}
	defer cp.close()
	// The read deadline is a heartbeat: when it fires with nothing read the
	// pair may be idle. A read timeout never loses data, since the splice
	// pipe is empty while waiting to read. A write timeout may, so the write
	// deadline is the idle timeout itself: a peer that reads nothing for
	// that long is gone.
	tick := s.cfg.IdleTimeout / 4
	for {
		now := time.Now()
		src.raw.SetReadDeadline(now.Add(tick)) //nolint:errcheck // a failed deadline fails the copy
		writeDeadline := now.Add(s.cfg.IdleTimeout)
		dst.raw.SetWriteDeadline(writeDeadline) //nolint:errcheck // a failed deadline fails the copy
		n, eof, err := cp.copyChunk()
		if n > 0 {
			total += n
			s.m.bytes.Add(float64(n))
			p.last.Store(time.Now().UnixNano())
		}
		switch {
		case err == nil && eof:
			if cw, ok := dst.raw.(interface{ CloseWrite() error }); ok {
				if err := cw.CloseWrite(); err != nil {
					log.Debug("passing on a half-close failed", "err", err)
					p.abort(src, dst)
				}
			}
			return total
		case err == nil:
			continue
		case errors.Is(err, os.ErrDeadlineExceeded) && time.Now().Before(writeDeadline):
			if n > 0 || time.Since(time.Unix(0, p.last.Load())) < s.cfg.IdleTimeout {
				continue
			}
			if p.abort(src, dst) {
				s.m.timeouts.WithLabelValues(phaseIdle).Inc()
				log.Debug("pair idle too long")
			}
		case errors.Is(err, os.ErrDeadlineExceeded):
			if p.abort(src, dst) {
				s.m.timeouts.WithLabelValues(phaseIdle).Inc()
				log.Debug("a peer stopped reading")
			}
		default:
			if p.abort(src, dst) {
				log.Debug("forwarding ended", "err", err)
			}
		}
		return total
	}
}

// abort ends a pair at once; the other direction's copy then fails too.
// It reports whether this call was the one that ended it.
func (p *pairState) abort(a, b *conn) bool {
	first := p.aborted.CompareAndSwap(false, true)
	a.close()
	b.close()
	return first
}
