package transfer

import (
	"context"
	"fmt"
	"runtime"
	"sync/atomic"
	"time"
)

func (s *sender) stream(ctx context.Context) error {
	mode := s.opts.Compress
	if mode == "" {
		mode = CompressAuto
	}
	p := &pipeline{
		s:       s,
		mode:    mode,
		ordered: make(chan *item, orderedDepth),
		work:    make(chan *item, workDepth),
		bufs:    newAlignedBufPool(blockDataAt+MaxRecordPayload+1024, 2*(orderedDepth+workDepth)+8, blockDataAt),
	}
	p.lastEnded.Store(-1)
	p.curFile.Store(-1) // no file yet: progress names none
	if s.resumedLoad() > 0 {
		s.progress(p, true) // resumed bytes count from the start
	}
	ncomp := 0
	if mode != CompressOff {
		ncomp = max(1, min(runtime.GOMAXPROCS(0), 4))
		enc, err := newEncoder(ncomp)
		if err != nil {
			return err
		}
		p.enc = enc
		defer enc.Close()
	}

	g, pctx := newGroup(ctx)
	g.Go(func() error { return p.produce(pctx) })
	for range ncomp {
		g.Go(func() error { return p.compress(pctx) })
	}
	g.Go(func() error { return p.writeLoop(pctx) })
	pipeDone := make(chan error, 1)
	go func() { pipeDone <- g.Wait() }()
	defer func() {
		if pipeDone != nil {
			g.cancel()
			s.c.awaitOrAbort(pipeDone)
		}
	}()

	ticker := time.NewTicker(100 * time.Millisecond)
	defer ticker.Stop()
	acked := -1
	for {
		select {
		case err := <-pipeDone:
			pipeDone = nil
			if err != nil {
				return err
			}
		case <-ticker.C:
			s.progress(p, false)
		case <-ctx.Done():
			return ctx.Err()
		case m := <-s.c.in:
			m, err := s.c.accept(m)
			if err != nil {
				return err
			}
			switch m.typ {
			case recAck:
				err = s.onAck(p, m.p, &acked)
			case recReceipt:
				if !p.endWritten.Load() {
					err = protocolError("the receiver sent a receipt before the transfer ended")
					break
				}
				if pipeDone != nil {
					// The end record is out: the pipeline is ending.
					perr := <-pipeDone
					pipeDone = nil
					if perr != nil {
						s.c.release(m)
						return perr
					}
				}
				err = s.onReceipt(p, m.p, acked)
				if err == nil {
					s.c.release(m)
					return nil
				}
			default:
				err = protocolError("unexpected record %d from the receiver during the transfer", m.typ)
			}
			s.c.release(m)
			if err != nil {
				return err
			}
		}
	}
}

func (s *sender) progress(p *pipeline, force bool) {
	total := s.out.header.Total
	if s.out.header.Kind == offerStream {
		total = -1
	}
	cur := int(p.curFile.Load())
	var name string
	if cur >= 0 && cur < len(s.out.entries) {
		name = s.out.entries[cur].Path
	}
	s.em.progress(Progress{
		Done:      p.sent.Load() + s.resumedLoad(),
		Resumed:   s.resumedLoad(),
		Total:     total,
		WireBytes: s.c.wireOut.Load(),
		File:      name,
		FileIndex: int(p.curOrdinal.Load()),
		Files:     s.out.files,
		Elapsed:   time.Since(s.start),
	}, force)
}

func (s *sender) resumedLoad() int64 { return atomic.LoadInt64(&s.resumed) }

func (s *sender) onAck(p *pipeline, b []byte, acked *int) error {
	idx, err := decodeAck(b)
	if err != nil {
		return protocolError("bad acknowledgement: %v", err)
	}
	if idx <= *acked || int64(idx) > p.lastEnded.Load() {
		return protocolError("the receiver acknowledged a file it cannot have")
	}
	for i := *acked + 1; i <= idx; i++ {
		if e := s.out.entries[i]; e.Kind != kindDir {
			s.em.emit(FileDone{Path: e.Path, Size: s.doneSize(p, e)})
		}
	}
	*acked = idx
	return nil
}

// doneSize is the size of a file the receiver has: a stream's is known
// only once it ended.
func (s *sender) doneSize(p *pipeline, e entry) int64 {
	if s.out.header.Kind == offerStream {
		return p.streamSize.Load()
	}
	return e.Size
}

// onReceipt checks the receiver's receipt once the pipeline has ended.
func (s *sender) onReceipt(p *pipeline, b []byte, acked int) error {
	r, err := decodeSummary(b)
	if err != nil {
		return protocolError("bad receipt: %v", err)
	}
	if r != p.sum {
		return fmt.Errorf("%w: the receiver's receipt does not match what was sent (%d files, %d bytes confirmed of %d files, %d bytes)",
			ErrVerify, r.Files, r.Bytes, p.sum.Files, p.sum.Bytes)
	}
	for i := acked + 1; i < len(s.out.entries); i++ {
		if e := s.out.entries[i]; e.Kind != kindDir {
			s.em.emit(FileDone{Path: e.Path, Size: s.doneSize(p, e)})
		}
	}
	s.progress(p, true)
	s.em.emit(Done{
		Files:     s.out.files,
		Bytes:     p.sum.Bytes,
		WireBytes: s.c.wireOut.Load(),
		Elapsed:   time.Since(s.start),
		Resumed:   s.resumedLoad(),
	})
	return nil
}
