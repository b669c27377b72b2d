package transfer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"
)

// drainGrace is how long a side that is finishing waits for the peer's end
// record before it closes the channel (if it can) and returns.
const drainGrace = 5 * time.Second

// recvLead is where a record's plaintext starts in a receive buffer: its
// type byte, then the payload, whose data block (after the block kind) thus
// starts at directAlign, the alignment direct I/O needs, and can go to the
// disk from there without a copy (fileSink.hold).
const recvLead = directAlign - 2

// inbound is one record read from the channel, in a pooled buffer.
type inbound struct {
	typ byte
	p   []byte
	buf *[]byte
	err error // read error; io.EOF after the peer's end record
}

// conn wraps a Channel for one transfer: one reader goroutine that moves
// records into pooled buffers, and a mutex so that any goroutine may write.
type conn struct {
	ch   Channel
	peer string // "sender" or "receiver": who is on the other side

	wmu        sync.Mutex
	closedW    bool
	wireOut    atomic.Int64 // data record payload bytes written (see countOut)
	in         chan inbound
	quit       chan struct{}
	readerDone chan struct{}
	rerr       error // the reader's final error, once the consumer saw it
	bufs       *bufPool
}

func newConn(ch Channel, peer string) *conn {
	c := &conn{
		ch:         ch,
		peer:       peer,
		in:         make(chan inbound, 32),
		quit:       make(chan struct{}),
		readerDone: make(chan struct{}),
		bufs:       newAlignedBufPool(recvLead+1+MaxRecordPayload, 64, directAlign),
	}
	go c.readLoop()
	return c
}

// recordReaderInto is a Channel that can decrypt a record straight into a
// buffer the caller keeps (secure.Conn), saving a copy per record.
type recordReaderInto interface {
	ReadRecordInto(buf []byte) (typ byte, payload []byte, err error)
}

// recordBuffer is a Channel that can gather records into fewer, larger
// writes (secure.Conn).
type recordBuffer interface {
	BufferRecord(typ byte, payload []byte) error
	Flush() error
}

func (c *conn) readLoop() {
	defer close(c.readerDone)
	into, _ := c.ch.(recordReaderInto)
	for {
		var m inbound
		if into != nil {
			buf := c.bufs.get()
			typ, p, err := into.ReadRecordInto((*buf)[recvLead:])
			if err != nil {
				c.bufs.put(buf)
				m.err = err
			} else {
				m.typ, m.p, m.buf = typ, p, buf
			}
		} else {
			typ, p, err := c.ch.ReadRecord()
			switch {
			case err != nil:
				m.err = err
			case len(p) > MaxRecordPayload:
				m.err = protocolError("record of %d bytes", len(p))
			default:
				m.buf = c.bufs.get()
				m.typ = typ
				dst := (*m.buf)[recvLead+1:]
				m.p = dst[:copy(dst, p)]
			}
		}
		select {
		case c.in <- m:
		case <-c.quit:
			c.release(m)
			if m.err == nil {
				continue // keep reading to EOF so the peer never blocks on us
			}
			return
		}
		if m.err != nil {
			return
		}
	}
}

// release returns a record's buffer to the pool.
func (c *conn) release(m inbound) {
	if m.buf != nil {
		c.bufs.put(m.buf)
	}
}

// countOut counts a record's payload towards WireBytes when it is a data
// record: the receiver counts the data records it takes, so both sides'
// WireBytes are the files' data as it crossed (after compression), and
// offers, claims and other control records count on neither.
func (c *conn) countOut(typ byte, n int) {
	if typ == recData {
		c.wireOut.Add(int64(n))
	}
}

// write sends one record; safe from any goroutine.
func (c *conn) write(typ byte, p []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.closedW {
		return errors.New("write after end of stream")
	}
	c.countOut(typ, len(p))
	return c.ch.WriteRecord(typ, p)
}

// writeMore sends one record where more are known to follow: a Channel
// that can gather records keeps it until the next write.
func (c *conn) writeMore(typ byte, p []byte) error {
	rb, ok := c.ch.(recordBuffer)
	if !ok {
		return c.write(typ, p)
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.closedW {
		return errors.New("write after end of stream")
	}
	c.countOut(typ, len(p))
	return rb.BufferRecord(typ, p)
}

// plainRecordBuffer is a Channel that seals a record from where it lies
// (secure.Conn): see writeRecord.
type plainRecordBuffer interface {
	BufferPlainRecord(rec []byte) error
	Flush() error
}

// writeRecord sends a record held as rec[0] = type, rec[1:] = payload, like
// writeMore when more follow and like write otherwise. A Channel that can
// seal it where it lies saves copying the payload.
func (c *conn) writeRecord(rec []byte, more bool) error {
	pb, ok := c.ch.(plainRecordBuffer)
	if !ok {
		if more {
			return c.writeMore(rec[0], rec[1:])
		}
		return c.write(rec[0], rec[1:])
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.closedW {
		return errors.New("write after end of stream")
	}
	c.countOut(rec[0], len(rec)-1)
	if err := pb.BufferPlainRecord(rec); err != nil {
		return err
	}
	if more {
		return nil
	}
	return pb.Flush()
}

// closeWrite sends the end record once.
func (c *conn) closeWrite() error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.closedW {
		return nil
	}
	c.closedW = true
	return c.ch.CloseWrite()
}

// next waits for the next record. A stop record from the peer becomes a
// *peerStop error; the end of the peer's stream where a record was
// expected becomes a protocol error.
func (c *conn) next(ctx context.Context) (inbound, error) {
	if c.rerr != nil {
		return inbound{}, c.linkError(c.rerr)
	}
	select {
	case <-ctx.Done():
		return inbound{}, ctx.Err()
	case m := <-c.in:
		return c.accept(m)
	}
}

// readList reads records of type typ, each passed to decode, up to one of
// type end, which counts what came before it: count() must equal that. Any
// other record is a protocol error; what names the items in errors.
func (c *conn) readList(ctx context.Context, typ, end byte, what string, decode func(p []byte) error, count func() int) error {
	for {
		m, err := c.next(ctx)
		if err != nil {
			return err
		}
		switch m.typ {
		case typ:
			if err = decode(m.p); err != nil && !errors.Is(err, ErrProtocol) {
				err = protocolError("bad %s: %v", what, err)
			}
		case end:
			var a accept
			if a, err = decodeAccept(m.p); err == nil && a.Claims != int64(count()) {
				err = protocolError("the %s announced %d %s but sent %d", c.peer, a.Claims, what, count())
			}
			if err == nil {
				c.release(m)
				return nil
			}
		default:
			err = protocolError("unexpected record %d while waiting for the %s", m.typ, what)
		}
		c.release(m)
		if err != nil {
			return err
		}
	}
}

// quiet runs f while the peer is to send nothing (the person deciding, the
// sender hashing): a record from the peer meanwhile, its stop or the link
// failing, cancels f's context and becomes the error, so that f does not run
// on for nothing. before names what the peer should have waited for.
func (c *conn) quiet(ctx context.Context, before string, f func(context.Context) error) error {
	fctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var early inbound
	var got bool
	watchDone, stopWatch := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(watchDone)
		select {
		case early = <-c.in:
			got = true
			cancel()
		case <-stopWatch:
		}
	}()
	err := f(fctx)
	close(stopWatch)
	<-watchDone
	if got {
		m, perr := c.accept(early)
		if perr != nil {
			return perr
		}
		c.release(m)
		return protocolError("the %s sent record %d before %s", c.peer, m.typ, before)
	}
	if err != nil && ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}

// accept turns a read error or a stop record into an error.
func (c *conn) accept(m inbound) (inbound, error) {
	if m.err != nil {
		c.rerr = m.err
		return m, c.linkError(m.err)
	}
	if m.typ == recStop {
		s, err := decodeStop(m.p)
		c.release(m)
		if err != nil {
			return inbound{}, protocolError("bad stop record: %v", err)
		}
		return inbound{}, &peerStop{by: c.peer, code: s.Code, msg: s.Message}
	}
	return m, nil
}

// awaitOrAbort waits for done; if that takes longer than drainGrace (a write
// stuck on a peer that stopped reading), it closes the channel if it can.
func (c *conn) awaitOrAbort(done <-chan error) {
	t := time.NewTimer(drainGrace)
	defer t.Stop()
	select {
	case <-done:
		return
	case <-t.C:
	}
	if cl, ok := c.ch.(io.Closer); ok {
		_ = cl.Close()
	}
	<-done
}

func (c *conn) linkError(err error) error {
	if err == io.EOF {
		return protocolError("the %s ended the stream early", c.peer)
	}
	return fmt.Errorf("connection lost: %w", err)
}

// finish ends this side of the transfer after err (nil: success). It tells
// the peer why (unless the peer stopped first or the link is gone), sends the
// end record and waits for the peer's, so that the reader goroutine ends.
// If the peer does not end its stream in time and the channel can be closed,
// it is closed; otherwise the caller's closing of the channel ends the reader.
func (c *conn) finish(ctx context.Context, err error) error {
	if c.rerr != nil && c.rerr != io.EOF {
		return err // the link is broken and the reader has ended
	}
	var ps *peerStop
	if err != nil && !errors.As(err, &ps) {
		code, msg := stopReason(err)
		_ = c.write(recStop, stop{Code: code, Message: msg}.append(nil))
	}
	_ = c.closeWrite()

	if c.rerr != nil {
		return err // the peer's end record already arrived
	}
	grace := time.NewTimer(drainGrace)
	defer grace.Stop()
	done := ctx.Done()
	for {
		select {
		case m := <-c.in:
			c.release(m)
			if m.err != nil {
				if err == nil && m.err != io.EOF {
					err = fmt.Errorf("connection lost at the end: %w", m.err)
				}
				return err
			}
			if err == nil {
				// After the final exchange the peer may only end its stream.
				if m.typ == recStop {
					err = protocolError("the %s stopped after the transfer completed", c.peer)
				} else {
					err = protocolError("unexpected record %d from the %s after the end", m.typ, c.peer)
				}
			}
		case <-done:
			done = nil
			grace.Reset(200 * time.Millisecond)
		case <-grace.C:
			close(c.quit)
			if cl, ok := c.ch.(io.Closer); ok {
				_ = cl.Close()
				<-c.readerDone
			}
			if err == nil {
				err = fmt.Errorf("the %s did not end the stream", c.peer)
			}
			return err
		}
	}
}

// emitter serialises events and throttles progress.
type emitter struct {
	mu       sync.Mutex
	f        func(Event)
	lastProg time.Time
}

func (e *emitter) emit(ev Event) {
	if e == nil || e.f == nil {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.f(ev)
}

// progress emits p unless one was emitted less than 100 ms ago (or force).
func (e *emitter) progress(p Progress, force bool) {
	if e == nil || e.f == nil {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	now := time.Now()
	if !force && now.Sub(e.lastProg) < 100*time.Millisecond {
		return
	}
	e.lastProg = now
	e.f(p)
}
