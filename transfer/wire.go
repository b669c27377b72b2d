package transfer

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// Channel is the record channel a transfer runs over: in practice the
// secure channel (transfer/secure), in tests an in-memory pair.
// WriteRecord is called by one goroutine at a time; the payload ReadRecord
// returns is valid only until the next ReadRecord. ReadRecord returns io.EOF
// only after the peer's authenticated end record (CloseWrite). It carries
// payloads of up to MaxRecordPayload bytes.
type Channel interface {
	WriteRecord(typ byte, payload []byte) error
	ReadRecord() (typ byte, payload []byte, err error)
	CloseWrite() error
}

// MaxRecordPayload is the largest payload a Channel carries in one record:
// the secure channel's MaxPayload, which a test ties it to.
const MaxRecordPayload = 65518

// Record types. 0 is reserved by the channel. See PROTOCOL.md.
const (
	recOffer     byte = 1  // sender: offer header
	recEntries   byte = 2  // sender: a batch of offer entries
	recResume    byte = 3  // receiver: a batch of resume questions (index, bytes held)
	recAccept    byte = 4  // receiver: accepted; count of resume questions
	recFileStart byte = 5  // sender: index, offset, compression
	recData      byte = 6  // sender: one block of the current file
	recFileEnd   byte = 7  // sender: index, size, whole-file checksum
	recEnd       byte = 8  // sender: all files sent; totals and digest
	recAck       byte = 9  // receiver: files up to this index are in place
	recReceipt   byte = 10 // receiver: totals and digest of what it verified
	recStop      byte = 11 // either: cancel, decline or error, with a reason
	recPrefix    byte = 12 // sender: resume key, then answers to resume questions (index, prefix hash)
	recKeep      byte = 13 // receiver: prefixes that matched, with proofs (index, hash)
	recStart     byte = 14 // receiver: count of keeps; data may flow
)

// Data block encodings (first byte of a recData payload).
const (
	blockRaw  byte = 0 // the bytes follow
	blockZstd byte = 1 // one zstd frame follows, decoding to at most blockSize bytes
	blockZero byte = 2 // uvarint n: n zero bytes
)

// blockSize is the most file bytes one data record stands for.
const blockSize = MaxRecordPayload - 1

// hashSize is the size of the BLAKE3 hashes in resume answers and proofs,
// the resume key and summaries.
const hashSize = 32

// protocolVersion 3: the sender answers resume questions with its own
// prefix hashes and the receiver compares them (2: the receiver sent the
// hash of its files; 1: FILE_END carried BLAKE3, not XXH3-128).
const protocolVersion = 3

var errShort = errors.New("record truncated")

// dec reads the fields of one record. The first error sticks; fields read
// after it are zero.
type dec struct {
	b   []byte
	err error
}

func (d *dec) fail(err error) {
	if d.err == nil {
		d.err = err
	}
}

func (d *dec) byte() byte {
	if d.err != nil {
		return 0
	}
	if len(d.b) < 1 {
		d.fail(errShort)
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}

func (d *dec) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail(errors.New("bad number in record"))
		return 0
	}
	d.b = d.b[n:]
	return v
}

// size reads a uvarint that must fit in a non-negative int64.
func (d *dec) size() int64 {
	v := d.uvarint()
	if v > math.MaxInt64 {
		d.fail(errors.New("number out of range in record"))
		return 0
	}
	return int64(v)
}

// index reads an entry index, which is at most maxEntries.
func (d *dec) index() int {
	v := d.uvarint()
	if v > maxEntries {
		d.fail(errors.New("entry index out of range in record"))
		return 0
	}
	return int(v)
}

func (d *dec) varint() int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail(errors.New("bad number in record"))
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *dec) bytes(n int) []byte {
	if d.err != nil {
		return nil
	}
	if n < 0 || len(d.b) < n {
		d.fail(errShort)
		return nil
	}
	v := d.b[:n:n]
	d.b = d.b[n:]
	return v
}

// str reads a uvarint length and that many bytes, at most max.
func (d *dec) str(max int) string {
	n := d.uvarint()
	if d.err != nil {
		return ""
	}
	if n > uint64(max) {
		d.fail(fmt.Errorf("string of %d bytes in record (limit %d)", n, max))
		return ""
	}
	return string(d.bytes(int(n)))
}

func (d *dec) hash() (h [hashSize]byte) {
	copy(h[:], d.bytes(hashSize))
	return h
}

// done reports the sticky error, or an error if bytes are left over.
func (d *dec) done() error {
	if d.err == nil && len(d.b) != 0 {
		d.err = errors.New("trailing bytes in record")
	}
	return d.err
}

func appendStr(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// fileStart begins one file's data.
type fileStart struct {
	Index    int
	Offset   int64 // bytes the receiver already has and keeps
	Compress byte  // 0: all blocks raw; 1: blocks may be zstd
}

func (m fileStart) append(b []byte) []byte {
	b = binary.AppendUvarint(b, uint64(m.Index))
	b = binary.AppendUvarint(b, uint64(m.Offset))
	return append(b, m.Compress)
}

func decodeFileStart(p []byte) (m fileStart, err error) {
	d := dec{b: p}
	m.Index = d.index()
	m.Offset = d.size()
	m.Compress = d.byte()
	return m, d.done()
}

// fileEnd closes one file: its full size and checksum (see checksum.go).
type fileEnd struct {
	Index int
	Size  int64
	Sum   [sumSize]byte
}

func (m fileEnd) append(b []byte) []byte {
	b = binary.AppendUvarint(b, uint64(m.Index))
	b = binary.AppendUvarint(b, uint64(m.Size))
	return append(b, m.Sum[:]...)
}

func decodeFileEnd(p []byte) (m fileEnd, err error) {
	d := dec{b: p}
	m.Index = d.index()
	m.Size = d.size()
	copy(m.Sum[:], d.bytes(sumSize))
	return m, d.done()
}

// summary is what END (sender) and RECEIPT (receiver) carry: how many files
// and bytes, and a digest over every file's index, size and checksum in order.
type summary struct {
	Files  int64
	Bytes  int64
	Digest [hashSize]byte
}

func (m summary) append(b []byte) []byte {
	b = binary.AppendUvarint(b, uint64(m.Files))
	b = binary.AppendUvarint(b, uint64(m.Bytes))
	return append(b, m.Digest[:]...)
}

func decodeSummary(p []byte) (m summary, err error) {
	d := dec{b: p}
	m.Files = d.size()
	m.Bytes = d.size()
	m.Digest = d.hash()
	return m, d.done()
}

// resumeAsk is a resume question: the receiver holds the first Have bytes
// of file Index (as NAME.bob-part, or the whole file already in place). It
// carries nothing computed from those bytes (issue 18, item 6).
type resumeAsk struct {
	Index int
	Have  int64
}

// appendResume encodes questions with delta-coded indexes (strictly ascending).
func appendResume(b []byte, prev int, c resumeAsk) []byte {
	b = binary.AppendUvarint(b, uint64(c.Index-prev))
	return binary.AppendUvarint(b, uint64(c.Have))
}

// decodeResume decodes a batch of questions; prev is the index of the last
// question before this batch (-1 at first). Indexes must ascend strictly.
func decodeResume(p []byte, prev int, f func(resumeAsk) error) (int, error) {
	return decodeList(p, prev, func(d *dec, i int) resumeAsk { return resumeAsk{Index: i, Have: d.size()} }, f)
}

// decodeList decodes a record of delta-coded items (RESUME, PREFIX, KEEP):
// each an index delta, then the fields read reads. Indexes must ascend
// strictly from prev and stay within maxEntries; it returns the last index.
func decodeList[T any](p []byte, prev int, read func(d *dec, index int) T, f func(T) error) (int, error) {
	d := dec{b: p}
	for len(d.b) > 0 && d.err == nil {
		delta := d.uvarint()
		if d.err != nil {
			break
		}
		if delta == 0 || delta > maxEntries || int64(prev)+int64(delta) > maxEntries {
			return prev, errors.New("resume records out of order")
		}
		v := read(&d, prev+int(delta))
		if d.err != nil {
			break
		}
		prev += int(delta)
		if err := f(v); err != nil {
			return prev, err
		}
	}
	return prev, d.done()
}

// listWriter packs delta-coded items into records of one type, each
// record starting with head.
type listWriter struct {
	c       *conn
	typ     byte
	head    []byte
	buf     []byte
	prev    int
	n       int64 // items written
	pending bool  // buf holds items not sent yet
}

func newListWriter(c *conn, typ byte, head []byte) *listWriter {
	return &listWriter{c: c, typ: typ, head: head, buf: append(make([]byte, 0, MaxRecordPayload), head...), prev: -1}
}

// add appends the item of index, encoded by enc in at most maxItem bytes,
// sending the record first if it would not fit.
func (w *listWriter) add(index, maxItem int, enc func(b []byte, prev int) []byte) error {
	if len(w.buf)+maxItem > MaxRecordPayload {
		if err := w.send(); err != nil {
			return err
		}
	}
	w.buf = enc(w.buf, w.prev)
	w.prev = index
	w.n++
	w.pending = true
	return nil
}

// send sends the record as it is, even with no items.
func (w *listWriter) send() error {
	err := w.c.write(w.typ, w.buf)
	w.buf, w.pending = append(w.buf[:0], w.head...), false
	return err
}

// flush sends the items not sent yet.
func (w *listWriter) flush() error {
	if !w.pending {
		return nil
	}
	return w.send()
}

// indexedHash is one entry of PREFIX (the sender's answer to a question:
// the first 32 bytes of its prefix's keyed hash) or of KEEP (the receiver's
// proof that its prefix matched: the keyed hash's bytes 64 to 96).
type indexedHash struct {
	Index int
	Hash  [hashSize]byte
}

// appendIndexedHash encodes one answer or proof, delta-coded like questions.
func appendIndexedHash(b []byte, prev int, h indexedHash) []byte {
	b = binary.AppendUvarint(b, uint64(h.Index-prev))
	return append(b, h.Hash[:]...)
}

// decodeIndexedHashes decodes a batch of answers or proofs; prev is the
// index of the last one before this batch (-1 at first).
func decodeIndexedHashes(p []byte, prev int, f func(indexedHash) error) (int, error) {
	return decodeList(p, prev, func(d *dec, i int) indexedHash { return indexedHash{Index: i, Hash: d.hash()} }, f)
}

// decodePrefix splits a PREFIX record into the resume key it starts with
// and its answers, which decodeIndexedHashes reads.
func decodePrefix(p []byte) (key [hashSize]byte, answers []byte, err error) {
	d := dec{b: p}
	key = d.hash()
	return key, d.b, d.err
}

// Largest encodings of one question and of one answer or proof.
const (
	maxAskBytes  = 2 * binary.MaxVarintLen64
	maxHashBytes = binary.MaxVarintLen64 + hashSize
)

// accept ends the receiver's answer (ACCEPT: Claims is the number of
// resume questions before it) and its keeps (START: the number of keeps).
type accept struct {
	Claims int64
}

func (m accept) append(b []byte) []byte {
	return binary.AppendUvarint(b, uint64(m.Claims))
}

func decodeAccept(p []byte) (m accept, err error) {
	d := dec{b: p}
	m.Claims = d.size()
	return m, d.done()
}

// Stop reasons.
const (
	stopCancel   byte = 1 // the person cancelled
	stopDecline  byte = 2 // the receiver declined the offer
	stopExists   byte = 3 // files exist and overwriting was not allowed
	stopNoSpace  byte = 4 // not enough free space
	stopRejected byte = 5 // the offer was unsafe or invalid
	stopFailed   byte = 6 // any other error
	stopVersion  byte = 7 // the sender speaks another protocol version
)

// maxStopMessage caps the reason text in a stop record. This bob sends only
// short fixed texts (stopReason); an older one sent its error message.
const maxStopMessage = 4096

type stop struct {
	Code    byte
	Message string
}

func (m stop) append(b []byte) []byte {
	msg := m.Message
	if len(msg) > maxStopMessage {
		msg = msg[:maxStopMessage]
	}
	b = append(b, m.Code)
	return appendStr(b, msg)
}

func decodeStop(p []byte) (m stop, err error) {
	d := dec{b: p}
	m.Code = d.byte()
	m.Message = d.str(maxStopMessage)
	if err := d.done(); err != nil {
		return m, err
	}
	if m.Code < stopCancel || m.Code > stopVersion {
		m.Code = stopFailed
	}
	return m, nil
}

// decodeAck reads the index of the last file now in place.
func decodeAck(p []byte) (int, error) {
	d := dec{b: p}
	idx := d.index()
	return idx, d.done()
}

// zeroBlock is compared against to find all-zero blocks (sparse files).
var zeroBlock [blockSize]byte
