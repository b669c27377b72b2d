// Package chantest provides an in-memory record channel pair with the
// semantics of the secure channel (typed records, an explicit end record, a
// cut stream reported as an error), plus counters and a cut switch so that
// tests can interrupt a transfer at a chosen record and count what crossed.
package chantest

import (
	"errors"
	"io"
	"sync"
	"sync/atomic"
)

// MaxRecordPayload mirrors the secure channel's limit.
const MaxRecordPayload = 65518

// ErrCut is returned by every operation after the pair was cut.
var ErrCut = errors.New("chantest: connection cut")

type record struct {
	typ     byte
	payload []byte
	end     bool
}

// pipe is one direction.
type pipe struct {
	mu     sync.Mutex
	cond   *sync.Cond
	queue  []record
	limit  int
	closed bool // writer sent its end record
	cut    bool // nothing more is delivered
	broken bool // writes fail; queued records are still delivered, then ErrCut
}

func newPipe(limit int) *pipe {
	p := &pipe{limit: limit}
	p.cond = sync.NewCond(&p.mu)
	return p
}

// Stats counts what one end wrote.
type Stats struct {
	records [256]atomic.Int64
	bytes   [256]atomic.Int64
}

// Bytes is the payload bytes written in records of type typ.
func (s *Stats) Bytes(typ byte) int64 { return s.bytes[typ].Load() }

// Records is the number of records of type typ written.
func (s *Stats) Records(typ byte) int64 { return s.records[typ].Load() }

// End is one side of a pair. It implements the transfer.Channel interface.
type End struct {
	in, out *pipe
	pair    *pair
	Stats   Stats

	writing atomic.Bool
	readBuf []byte
}

type pair struct {
	a, b    *End
	cutOnce sync.Once
	mu      sync.Mutex
	cutWhen func(from *End, typ byte, payload []byte) bool
}

// Pair returns two connected ends. Each direction buffers up to depth
// records (like a socket buffer); a writer blocks beyond that.
func Pair(depth int) (a, b *End) {
	if depth < 1 {
		depth = 1
	}
	ab, ba := newPipe(depth), newPipe(depth)
	p := &pair{}
	a = &End{in: ba, out: ab, pair: p}
	b = &End{in: ab, out: ba, pair: p}
	p.a, p.b = a, b
	return a, b
}

// CutWhen installs f: before a record is queued, f is called with the
// writing end, type and payload; if it returns true the link breaks
// instead: that record and all later writes are lost, while records
// already queued are still delivered before reads fail with ErrCut (as
// data in flight arrives before a connection reset).
func (e *End) CutWhen(f func(from *End, typ byte, payload []byte) bool) {
	e.pair.mu.Lock()
	e.pair.cutWhen = f
	e.pair.mu.Unlock()
}

// Cut breaks both directions: pending and future operations fail with ErrCut.
func (e *End) Cut() { e.pair.cut() }

// Close cuts the pair (as closing the network connection would).
func (e *End) Close() error {
	e.pair.cut()
	return nil
}

func (p *pair) breakLink() {
	for _, pp := range []*pipe{p.a.out, p.b.out} {
		pp.mu.Lock()
		pp.broken = true
		pp.cond.Broadcast()
		pp.mu.Unlock()
	}
}

func (p *pair) cut() {
	p.cutOnce.Do(func() {
		for _, pp := range []*pipe{p.a.out, p.b.out} {
			pp.mu.Lock()
			pp.cut = true
			pp.cond.Broadcast()
			pp.mu.Unlock()
		}
	})
}

// WriteRecord queues one record for the peer.
func (e *End) WriteRecord(typ byte, payload []byte) error {
	if !e.writing.CompareAndSwap(false, true) {
		panic("chantest: concurrent WriteRecord")
	}
	defer e.writing.Store(false)
	if typ == 0 {
		return errors.New("chantest: record type 0 is reserved")
	}
	if len(payload) > MaxRecordPayload {
		return errors.New("chantest: record too large")
	}
	e.pair.mu.Lock()
	f := e.pair.cutWhen
	e.pair.mu.Unlock()
	if f != nil && f(e, typ, payload) {
		e.pair.breakLink()
		return ErrCut
	}
	return e.out.push(record{typ: typ, payload: append([]byte(nil), payload...)}, &e.Stats)
}

func (p *pipe) push(r record, st *Stats) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	for !p.cut && !p.broken && !p.closed && len(p.queue) >= p.limit {
		p.cond.Wait()
	}
	if p.cut || p.broken {
		return ErrCut
	}
	if p.closed {
		return errors.New("chantest: write after CloseWrite")
	}
	if r.end {
		p.closed = true
	} else {
		st.records[r.typ].Add(1)
		st.bytes[r.typ].Add(int64(len(r.payload)))
	}
	p.queue = append(p.queue, r)
	p.cond.Broadcast()
	return nil
}

// CloseWrite sends the end record.
func (e *End) CloseWrite() error {
	if !e.writing.CompareAndSwap(false, true) {
		panic("chantest: CloseWrite concurrent with WriteRecord")
	}
	defer e.writing.Store(false)
	return e.out.push(record{end: true}, &e.Stats)
}

// ReadRecord returns the next record. The payload is valid only until the
// next call: the previous buffer is zeroed to catch retention bugs.
func (e *End) ReadRecord() (byte, []byte, error) {
	clear(e.readBuf)
	p := e.in
	p.mu.Lock()
	defer p.mu.Unlock()
	for !p.cut && !p.broken && len(p.queue) == 0 {
		p.cond.Wait()
	}
	if p.cut || (p.broken && len(p.queue) == 0) {
		return 0, nil, ErrCut
	}
	r := p.queue[0]
	p.queue[0] = record{}
	p.queue = p.queue[1:]
	p.cond.Broadcast()
	if r.end {
		// Stay at EOF: put the end record back.
		p.queue = append([]record{r}, p.queue...)
		return 0, nil, io.EOF
	}
	e.readBuf = append(e.readBuf[:0], r.payload...)
	return r.typ, e.readBuf, nil
}

var _ io.Closer = (*End)(nil)
