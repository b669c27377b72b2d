package secure

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
)

// Record sizes. A frame is a 2-byte big-endian length and a Noise transport
// message of at most 65535 bytes: the AEAD of a type byte and the payload,
// plus a 16-byte tag.
const (
	maxFrame   = 65535
	tagSize    = 16
	MaxPayload = maxFrame - tagSize - 1 // 65518
)

// DataRecord is the record type that Read and Write use.
const DataRecord byte = 1

// Record type 0 belongs to the channel; its payload's first byte says what it
// is.
const (
	controlRecord    = 0
	controlEndStream = 1
)

var (
	// ErrTruncated: the stream ended or was cut before the peer's
	// authenticated end record. It wraps io.ErrUnexpectedEOF.
	ErrTruncated error = truncatedError{}
	// ErrCorrupt: a record failed authentication or was malformed: the
	// stream was altered, reordered, dropped or duplicated in transit.
	ErrCorrupt = errors.New("secure: a record failed authentication: the connection was tampered with or corrupted")
	// ErrWriteClosed: a write after CloseWrite.
	ErrWriteClosed = errors.New("secure: write after the end of the stream")
)

type truncatedError struct{}

func (truncatedError) Error() string {
	return "secure: the connection was cut before the end of the stream"
}
func (truncatedError) Unwrap() error { return io.ErrUnexpectedEOF }

// Conn is a secure channel of typed records. One goroutine may write
// (WriteRecord, Write, CloseWrite) while another reads (ReadRecord, Read);
// each side is serialised by its own lock, so misuse cannot reuse a nonce.
// Errors are final: after one, every later call on that side returns it.
type Conn struct {
	rw           io.ReadWriter
	cipher       string
	peerFeatures []string
	path         pathSecret // zero for a Conn made by DirectHandshake

	rmu  sync.Mutex
	br   *bufio.Reader
	recv *halfDuplex
	// Records are decrypted in place in br's buffer, and the frame is
	// discarded from br only at the next read, so the payload stays valid
	// until then without a copy.
	consumed int
	pending  []byte // unread data of the last DataRecord, for Read
	rerr     error

	wmu  sync.Mutex
	w    io.Writer // rw, written with raw system calls where it can be (rawio_linux.go)
	send *halfDuplex
	wbuf []byte // sealed frames not yet written; see BufferRecord
	werr error
}

// writeBufferSize is how many bytes of sealed frames BufferRecord gathers
// before it writes them: fewer, larger writes cost the sender, the relay
// and the receiver fewer system calls and wake-ups per byte.
const writeBufferSize = 256 << 10

// newConn makes a Conn from the transport keys; br must wrap rw and may
// already hold bytes that followed the handshake.
func newConn(rw io.ReadWriter, br *bufio.Reader, cipher string, sendKey, recvKey [32]byte, peerFeatures []string) (*Conn, error) {
	send, err := newHalfDuplex(cipher, sendKey)
	if err != nil {
		return nil, err
	}
	recv, err := newHalfDuplex(cipher, recvKey)
	if err != nil {
		return nil, err
	}
	return &Conn{
		rw:           rw,
		w:            withRawWrites(rw),
		cipher:       cipher,
		peerFeatures: peerFeatures,
		br:           br,
		recv:         recv,
		send:         send,
		wbuf:         make([]byte, 0, writeBufferSize+2+maxFrame),
	}, nil
}

// Cipher returns the negotiated AEAD: CipherAESGCM or CipherChaChaPoly.
func (c *Conn) Cipher() string { return c.cipher }

// PeerFeatures returns the capability offers of the other side.
func (c *Conn) PeerFeatures() []string { return slices.Clone(c.peerFeatures) }

// WriteRecord sends one record, and any records buffered before it. typ
// must be 1 to 255 (0 is the channel's own) and payload at most MaxPayload
// bytes.
func (c *Conn) WriteRecord(typ byte, payload []byte) error {
	if err := checkRecord(typ, payload); err != nil {
		return err
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if err := c.sealRecord(typ, payload); err != nil {
		return err
	}
	return c.flush()
}

// BufferRecord seals one record into the write buffer without sending it:
// it goes out with the next WriteRecord, CloseWrite or Flush, or when the
// buffer fills. Use it for a run of records where more are known to follow.
func (c *Conn) BufferRecord(typ byte, payload []byte) error {
	if err := checkRecord(typ, payload); err != nil {
		return err
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.sealRecord(typ, payload)
}

// Flush writes the buffered records.
func (c *Conn) Flush() error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.werr != nil {
		return c.werr
	}
	return c.flush()
}

func checkRecord(typ byte, payload []byte) error {
	if typ == controlRecord {
		return errors.New("secure: record type 0 is reserved")
	}
	if len(payload) > MaxPayload {
		return fmt.Errorf("secure: record payload of %d bytes (at most %d)", len(payload), MaxPayload)
	}
	return nil
}

// BufferPlainRecord is BufferRecord for a record held in one slice: rec[0]
// is its type and rec[1:] its payload. It seals rec from where it lies
// into the write buffer, where BufferRecord first copies the payload
// there; rec is not changed. A sender that reads data into a buffer with a
// byte free before it saves that copy of every byte.
func (c *Conn) BufferPlainRecord(rec []byte) error {
	if len(rec) == 0 {
		return errors.New("secure: a record needs at least its type")
	}
	if err := checkRecord(rec[0], rec[1:]); err != nil {
		return err
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	frame, nonce, err := c.reserveFrame(len(rec))
	if err != nil {
		return err
	}
	c.send.aead.Seal(frame[2:2], nonce, rec, nil)
	return nil
}

// sealRecord seals [typ][payload] in place at the end of wbuf.
func (c *Conn) sealRecord(typ byte, payload []byte) error {
	n := 1 + len(payload)
	frame, nonce, err := c.reserveFrame(n)
	if err != nil {
		return err
	}
	frame[2] = typ
	copy(frame[3:], payload)
	c.send.aead.Seal(frame[2:2], nonce, frame[2:2+n], nil)
	return nil
}

// reserveFrame appends to wbuf the frame of a record of n plaintext bytes
// (its length prefix set, its ciphertext to be sealed into frame[2:]),
// writing the buffer first if the frame would not fit, and returns it with
// the record's nonce.
func (c *Conn) reserveFrame(n int) (frame, nonce []byte, err error) {
	if c.werr != nil {
		return nil, nil, c.werr
	}
	size := 2 + n + tagSize
	if len(c.wbuf)+size > cap(c.wbuf) {
		if err := c.flush(); err != nil {
			return nil, nil, err
		}
	}
	nonce, err = c.send.next()
	if err != nil {
		c.werr = err
		return nil, nil, err
	}
	start := len(c.wbuf)
	c.wbuf = c.wbuf[:start+size]
	frame = c.wbuf[start : start+size]
	binary.BigEndian.PutUint16(frame, uint16(n+tagSize))
	return frame, nonce, nil
}

// flush writes wbuf with one Write call.
func (c *Conn) flush() error {
	if len(c.wbuf) == 0 {
		return nil
	}
	_, err := c.w.Write(c.wbuf)
	c.wbuf = c.wbuf[:0]
	if err != nil {
		c.werr = fmt.Errorf("secure: write: %w", err)
		return c.werr
	}
	return nil
}

// Write sends p as DataRecords of at most MaxPayload bytes each.
func (c *Conn) Write(p []byte) (int, error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	written := 0
	for len(p) > 0 {
		chunk := p[:min(len(p), MaxPayload)]
		if err := c.sealRecord(DataRecord, chunk); err != nil {
			return written, err
		}
		written += len(chunk)
		p = p[len(chunk):]
	}
	if err := c.flush(); err != nil {
		return 0, err
	}
	return written, nil
}

// CloseWrite sends the authenticated end-of-stream record; the peer's reads
// then return io.EOF. Later writes fail with ErrWriteClosed. It does not
// close rw.
func (c *Conn) CloseWrite() error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.werr != nil {
		if c.werr == ErrWriteClosed {
			return nil
		}
		return c.werr
	}
	if err := c.sealRecord(controlRecord, []byte{controlEndStream}); err != nil {
		return err
	}
	if err := c.flush(); err != nil {
		return err
	}
	c.werr = ErrWriteClosed
	return nil
}

// Close closes rw if it is an io.Closer. Without CloseWrite first, the peer
// sees ErrTruncated: Close alone is an abort.
func (c *Conn) Close() error {
	if cl, ok := c.rw.(io.Closer); ok {
		return cl.Close()
	}
	return nil
}

// ReadRecord returns the next record. payload is valid until the next read
// call. It returns io.EOF only after the peer's authenticated end record,
// ErrTruncated if the stream ends without one, and ErrCorrupt if a record
// was altered, dropped, duplicated or reordered.
func (c *Conn) ReadRecord() (typ byte, payload []byte, err error) {
	c.rmu.Lock()
	defer c.rmu.Unlock()
	c.pending = nil
	return c.readRecord(nil)
}

// ReadRecordInto is ReadRecord decrypting into buf rather than in place:
// payload aliases buf and stays valid after later reads, which saves the
// caller a copy when it keeps records. buf must hold 1+MaxPayload bytes.
func (c *Conn) ReadRecordInto(buf []byte) (typ byte, payload []byte, err error) {
	if len(buf) < 1+MaxPayload {
		return 0, nil, fmt.Errorf("secure: read buffer of %d bytes (at least %d)", len(buf), 1+MaxPayload)
	}
	c.rmu.Lock()
	defer c.rmu.Unlock()
	c.pending = nil
	return c.readRecord(buf)
}

func (c *Conn) readRecord(dst []byte) (byte, []byte, error) {
	if c.rerr != nil {
		return 0, nil, c.rerr
	}
	typ, payload, err := c.readFrame(dst)
	if err != nil {
		c.rerr = err
		return 0, nil, err
	}
	if typ == controlRecord {
		if len(payload) == 1 && payload[0] == controlEndStream {
			c.rerr = io.EOF
			return 0, nil, io.EOF
		}
		c.rerr = fmt.Errorf("%w (unknown control record)", ErrCorrupt)
		return 0, nil, c.rerr
	}
	return typ, payload, nil
}

// readFrame reads, authenticates and decrypts one frame, into dst if it is
// not nil, else in place in br's buffer.
func (c *Conn) readFrame(dst []byte) (byte, []byte, error) {
	if c.consumed > 0 {
		c.br.Discard(c.consumed)
		c.consumed = 0
	}
	hdr, err := c.br.Peek(2)
	if err != nil {
		return 0, nil, truncated(err)
	}
	n := int(binary.BigEndian.Uint16(hdr))
	if n < 1+tagSize {
		return 0, nil, fmt.Errorf("%w (a frame of %d bytes)", ErrCorrupt, n)
	}
	frame, err := c.br.Peek(2 + n)
	if err != nil {
		return 0, nil, truncated(err)
	}
	nonce, err := c.recv.next()
	if err != nil {
		return 0, nil, err
	}
	if dst == nil {
		dst = frame[2:2]
	}
	plain, err := c.recv.aead.Open(dst[:0], nonce, frame[2:], nil)
	c.consumed = 2 + n
	if err != nil {
		return 0, nil, ErrCorrupt
	}
	return plain[0], plain[1:], nil
}

func truncated(err error) error {
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return ErrTruncated
	}
	return fmt.Errorf("%w: %w", ErrTruncated, err)
}

// Read reads the payload of DataRecords. Any other record type is an error:
// use ReadRecord for typed streams, and do not mix the two.
func (c *Conn) Read(p []byte) (int, error) {
	c.rmu.Lock()
	defer c.rmu.Unlock()
	for len(c.pending) == 0 {
		if len(p) == 0 {
			return 0, c.rerr
		}
		typ, payload, err := c.readRecord(nil)
		if err != nil {
			return 0, err
		}
		if typ != DataRecord {
			c.rerr = fmt.Errorf("secure: record of type %d where data was expected", typ)
			return 0, c.rerr
		}
		c.pending = payload
	}
	n := copy(p, c.pending)
	c.pending = c.pending[n:]
	return n, nil
}
