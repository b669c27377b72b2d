package transfer

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/klauspost/compress/zstd"
)

// ReceiveOptions says where received files go and who decides.
type ReceiveOptions struct {
	// OutDir is the folder files are written into ("." if empty). It is
	// created if missing. Nothing is ever written outside it.
	OutDir string
	// Overwrite allows replacing existing files. Without it the transfer
	// stops before anything is written if a file exists.
	Overwrite bool
	// Stdout, if set, receives the single file, stream or text of the offer
	// instead of the disk (an offer of several files is refused). Data is
	// written as it arrives; it is verified at the end, and Receive returns an
	// error if it did not match.
	Stdout io.Writer
	// Accept is asked whether to take the offer; ctx is cancelled if the
	// sender gives up meanwhile. nil accepts everything.
	Accept func(ctx context.Context, offer OfferReceived) (bool, error)
	// Clash, if set, is asked instead of Accept when files of offered
	// names are already in the output folder (and Overwrite is not set):
	// the offer marks them (OfferEntry.Clash) and the answer says what to
	// do with them. nil keeps the refusal (ErrExists) before anyone is
	// asked: the safe answer when no one is there to choose.
	Clash func(ctx context.Context, offer OfferReceived) (ClashChoice, error)

	// rules overrides the receiving system's name rules (tests).
	rules *nameRules
	// freeSpace overrides how the output folder's free space is found (tests).
	freeSpace func(dir string) (int64, error)
}

// ClashChoice is what to do with offered files whose names are taken in
// the output folder (issue 16, item 9).
type ClashChoice int

const (
	ClashCancel    ClashChoice = iota // decline the whole offer
	ClashOverwrite                    // replace the files that are there
	ClashKeepBoth                     // write the offered ones as "name (1).ext"
	ClashSkip                         // leave them as they are: their data is checked and dropped
)

// Receive receives one offer over ch: it checks the offer (rejecting it
// whole if any entry is unsafe), checks for existing files and free space,
// asks opts.Accept, then writes, verifies and renames each file into place
// and sends the receipt. emit (may be nil) receives events, never
// concurrently.
func Receive(ctx context.Context, ch Channel, opts ReceiveOptions, emit func(Event)) error {
	c := newConn(ch, "sender")
	r := &receiver{c: c, opts: opts, em: &emitter{f: emit}, start: time.Now()}
	err := r.run(ctx)
	var kept int64
	if err != nil && r.disk != nil && r.offer.Header.Kind != offerStream && !errors.Is(err, ErrDeclined) {
		kept = r.disk.keptBytes()
	}
	r.close()
	if err != nil && r.disk != nil {
		removeEmpty(r.disk.created)
	}
	err = c.finish(ctx, err)
	if err != nil && kept > 0 {
		err = &PartialError{Err: err, Kept: kept, Dir: r.disk.dir}
	}
	return err
}

type receiver struct {
	c     *conn
	opts  ReceiveOptions
	em    *emitter
	start time.Time

	lastEndSize int64 // size in the latest file end record

	offer        *offer
	disk         *disk // nil when writing to Stdout or receiving text
	dec          *zstd.Decoder
	digest       *digest
	written      int64 // file bytes received this session
	filesStarted int   // files begun so far: the 1-based number of the current file
	wire         int64 // data record bytes received
}

func (r *receiver) close() {
	if r.disk != nil {
		r.disk.close()
	}
	if r.dec != nil {
		r.dec.Close()
	}
}

func (r *receiver) run(ctx context.Context) error {
	if err := r.readOffer(ctx); err != nil {
		return err
	}
	o := r.offer
	ev := offerEvent(o.Header, o.Entries, o.Files, o.Folders, len(o.Entries))
	if r.opts.Stdout != nil && (o.Folders > 0 || o.Files != 1) {
		return fmt.Errorf("%w: %d files and %d folders cannot be written to standard output", ErrUnsafeOffer, o.Files, o.Folders)
	}
	if r.opts.Stdout == nil && o.Header.Kind != offerText {
		d, err := openDisk(r.opts, o)
		if err != nil {
			return err
		}
		d.release = r.c.bufs.put
		r.disk = d
		if err := d.plan(); err != nil {
			return err
		}
		ev.Resumable = d.resumable
		d.markExisting(ev.Entries)
	}
	r.em.emit(ev)
	question := r.opts.Accept
	var choice ClashChoice
	if r.disk != nil && r.disk.clashes > 0 {
		question = func(ctx context.Context, ev OfferReceived) (bool, error) {
			var err error
			choice, err = r.opts.Clash(ctx, ev)
			return choice != ClashCancel, err
		}
	}
	ok, err := r.ask(ctx, ev, question)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("%w by you", ErrDeclined)
	}
	if r.disk != nil && r.disk.clashes > 0 {
		if err := r.disk.resolve(choice, r.rules()); err != nil {
			return err
		}
	}
	if err := r.answer(ctx); err != nil {
		return err
	}
	dec, err := newDecoder()
	if err != nil {
		return err
	}
	r.dec = dec
	r.digest = newDigest()
	return r.receiveData(ctx)
}

// rules are the receiving system's name rules.
func (r *receiver) rules() nameRules {
	if r.opts.rules != nil {
		return *r.opts.rules
	}
	return localNameRules()
}

func (r *receiver) readOffer(ctx context.Context) error {
	rules := r.rules()
	m, err := r.c.next(ctx)
	if err != nil {
		return err
	}
	if m.typ != recOffer {
		r.c.release(m)
		return protocolError("expected an offer, got record %d", m.typ)
	}
	or, err := newOfferReader(m.p, rules)
	r.c.release(m)
	if err != nil {
		return wrapUnsafe(err)
	}
	for !or.complete() {
		m, err := r.c.next(ctx)
		if err != nil {
			return err
		}
		if m.typ != recEntries {
			r.c.release(m)
			return protocolError("expected offer entries, got record %d", m.typ)
		}
		err = or.add(m.p)
		r.c.release(m)
		if err != nil {
			return wrapUnsafe(err)
		}
	}
	r.offer, err = or.finish()
	return wrapUnsafe(err)
}

func wrapUnsafe(err error) error {
	if err == nil || errors.Is(err, ErrUnsafeOffer) {
		return err
	}
	return fmt.Errorf("%w: %w", ErrUnsafeOffer, err)
}

// ask runs question (opts.Accept, or the clash question) while watching
// for the sender giving up.
func (r *receiver) ask(ctx context.Context, ev OfferReceived, question func(context.Context, OfferReceived) (bool, error)) (bool, error) {
	if question == nil {
		return true, nil
	}
	var ok bool
	err := r.c.quiet(ctx, "the answer", func(actx context.Context) (err error) {
		ok, err = question(actx, ev)
		return err
	})
	return ok && err == nil, err
}

// incoming is the file being received.
type incoming struct {
	idx     int
	e       *entry
	size    int64 // bytes of the file so far (including a resumed prefix)
	h       fileSum
	sink    sink
	skipped bool // held complete already: no data may come
}

func (r *receiver) receiveData(ctx context.Context) error {
	o := r.offer
	next := 0 // position in o.Entries to look for the next file from
	var cur *incoming
	defer func() {
		if cur != nil && cur.sink != nil {
			if c, ok := cur.sink.(io.Closer); ok {
				c.Close()
			}
		}
	}()
	var zbuf []byte
	for {
		m, err := r.c.next(ctx)
		if err != nil {
			return err
		}
		switch m.typ {
		case recData:
			err = r.onData(cur, &m, &zbuf)
		case recFileStart:
			var st fileStart
			st, err = decodeFileStart(m.p)
			if err != nil {
				err = protocolError("bad file start: %v", err)
				break
			}
			if cur != nil {
				err = protocolError("a file started before the previous one ended")
				break
			}
			for next < len(o.Entries) && o.Entries[next].Kind == kindDir {
				next++
			}
			if st.Index != next || next >= len(o.Entries) {
				err = protocolError("files must be sent once each, in offer order")
				break
			}
			next++
			cur, err = r.startFile(st)
		case recFileEnd:
			if err = r.endFile(cur, m.p); err == nil {
				cur = nil
			}
		case recEnd:
			for next < len(o.Entries) && o.Entries[next].Kind == kindDir {
				next++
			}
			if cur != nil || next != len(o.Entries) {
				err = protocolError("the sender ended before sending every file")
				break
			}
			err = r.end(m.p)
			if err == nil {
				r.c.release(m)
				return nil
			}
		default:
			err = protocolError("unexpected record %d during the transfer", m.typ)
		}
		r.c.release(m)
		if err != nil {
			return err
		}
		r.progress(cur, false)
	}
}

func (r *receiver) progress(cur *incoming, force bool) {
	p := Progress{
		Done:      r.written + r.resumedBytes(),
		Resumed:   r.resumedBytes(),
		Total:     r.offer.Header.Total,
		WireBytes: r.wire,
		Files:     r.offer.Files,
		Elapsed:   time.Since(r.start),
	}
	if r.offer.Header.Kind == offerStream {
		p.Total = -1
	}
	p.FileIndex = r.filesStarted // the current file, or the last one
	if cur != nil {
		p.File = cur.e.Path
	}
	r.em.progress(p, force)
}

func (r *receiver) resumedBytes() int64 {
	if r.disk == nil {
		return 0
	}
	return r.disk.resumed
}

func (r *receiver) startFile(st fileStart) (*incoming, error) {
	e := &r.offer.Entries[st.Index]
	r.filesStarted++
	cur := &incoming{idx: st.Index, e: e, h: newFileSum()}
	if st.Offset > e.Size || (st.Offset > 0 && e.Kind != kindFile) {
		return nil, protocolError("\"%s\" starts at byte %d, beyond what it has", e.Path, st.Offset)
	}
	switch {
	case e.Kind == kindText:
		cur.sink = &textSink{max: int(e.Size)}
	case r.opts.Stdout != nil:
		cur.sink = writerSink{r.opts.Stdout}
	default:
		s, skipped, err := r.disk.open(st.Index, st.Offset, cur.h)
		if err != nil {
			return nil, err
		}
		cur.sink, cur.skipped = s, skipped
		cur.size = st.Offset
	}
	return cur, nil
}

// onData takes one data record. A direct-mode file sink may keep the
// record's buffer (m.buf is then nil).
func (r *receiver) onData(cur *incoming, m *inbound, zbuf *[]byte) error {
	p := m.p
	if cur == nil {
		return protocolError("data outside a file")
	}
	if cur.skipped {
		return protocolError("data for \"%s\", which the receiver already has", cur.e.Path)
	}
	r.wire += int64(len(p))
	if len(p) == 0 {
		return protocolError("empty data record")
	}
	var data []byte
	zeros := 0
	switch p[0] {
	case blockRaw:
		data = p[1:]
	case blockZstd:
		if cap(*zbuf) < blockSize {
			*zbuf = make([]byte, 0, blockSize)
		}
		var err error
		data, err = r.dec.DecodeAll(p[1:], (*zbuf)[:0])
		if err != nil {
			return protocolError("bad compressed block in \"%s\": %v", cur.e.Path, err)
		}
	case blockZero:
		d := dec{b: p[1:]}
		n := d.uvarint()
		if err := d.done(); err != nil || n > blockSize {
			return protocolError("bad zero block")
		}
		zeros = int(n)
	default:
		return protocolError("unknown block kind %d", p[0])
	}
	n := len(data) + zeros
	if n == 0 || n > blockSize {
		return protocolError("block of %d bytes", n)
	}
	if cur.e.Kind != kindStream && cur.size+int64(n) > cur.e.Size {
		return verifyError("the sender sent more than the %d bytes announced for \"%s\"", cur.e.Size, cur.e.Path)
	}
	if cur.e.Kind == kindStream && r.disk != nil {
		if err := r.disk.streamSpace(cur.e, cur.size, int64(n)); err != nil {
			return err
		}
	}
	cur.size += int64(n)
	r.written += int64(n)
	if zeros > 0 {
		cur.h.Write(zeroBlock[:zeros])
		return cur.sink.zeros(zeros)
	}
	cur.h.Write(data)
	if p[0] != blockRaw {
		return cur.sink.write(data) // decompressed into zbuf
	}
	kept, err := cur.sink.hold(data, m.buf)
	if kept {
		m.buf = nil
	}
	return err
}

func (r *receiver) endFile(cur *incoming, p []byte) error {
	end, err := decodeFileEnd(p)
	if err != nil {
		return protocolError("bad file end: %v", err)
	}
	if cur == nil || end.Index != cur.idx {
		return protocolError("a file ended that had not started")
	}
	e := cur.e
	if end.Size != cur.size || (e.Kind != kindStream && end.Size != e.Size) {
		return verifyError("\"%s\": announced %d bytes, received %d", e.Path, max(e.Size, end.Size), cur.size)
	}
	got := cur.h.sum()
	if cur.skipped {
		got = r.disk.held[cur.idx]
	}
	if got != end.Sum {
		return verifyError("\"%s\" does not match the sender's checksum; it was kept as %s", e.Path, e.Path+partSuffix)
	}
	r.digest.add(end)
	switch s := cur.sink.(type) {
	case *textSink:
		text := s.buf.String()
		if shown := r.offer.Header.Text; shown != "" && text != shown {
			return verifyError("the text differs from the one the offer showed")
		}
		r.em.emit(TextReceived{Text: text})
		if r.opts.Stdout != nil {
			if _, err := io.WriteString(r.opts.Stdout, text); err != nil {
				return fmt.Errorf("writing the text: %w", err)
			}
		}
		return nil
	case writerSink:
		r.em.emit(FileDone{Path: e.Path, Size: end.Size})
		return nil
	}
	r.lastEndSize = end.Size
	done, err := r.disk.commit(cur, end.Size)
	if err != nil {
		return err
	}
	return r.acked(done)
}

// acked tells the sender about files now in place, and the person.
func (r *receiver) acked(done []int) error {
	if len(done) == 0 {
		return nil
	}
	for _, i := range done {
		if r.disk != nil && r.disk.state[i].skip {
			continue // received, checked and dropped, as the person chose
		}
		e := r.offer.Entries[i]
		size := e.Size
		if r.offer.Header.Kind == offerStream {
			size = r.lastEndSize // a stream's size is known only at its end
		}
		r.em.emit(FileDone{Path: e.Path, Size: size})
	}
	return r.c.write(recAck, binary.AppendUvarint(nil, uint64(done[len(done)-1])))
}

func (r *receiver) end(p []byte) error {
	got, err := decodeSummary(p)
	if err != nil {
		return protocolError("bad end record: %v", err)
	}
	mine := r.digest.summary()
	if got != mine {
		return protocolError("the sender's totals do not match the files it sent")
	}
	if r.disk != nil {
		done, err := r.disk.flush()
		if err != nil {
			return err
		}
		if err := r.acked(done); err != nil {
			return err
		}
		r.disk.finishDirs()
	}
	if err := r.c.write(recReceipt, mine.append(nil)); err != nil {
		return err
	}
	r.progress(nil, true)
	ev := Done{
		Files:     int(mine.Files),
		Bytes:     mine.Bytes,
		WireBytes: r.wire,
		Elapsed:   time.Since(r.start),
		Resumed:   r.resumedBytes(),
	}
	if r.disk != nil {
		ev.OutDir = r.disk.dir
		ev.Files -= r.disk.skipped
		ev.Bytes -= r.disk.skippedBytes
	}
	r.em.emit(ev)
	return nil
}
