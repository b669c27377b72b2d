package transfer

import (
	"context"
	"crypto/subtle"
	"errors"
	"time"
)

// answer prepares the output folder, asks the sender about what is here
// from an earlier run, accepts, and settles the questions.
func (r *receiver) answer(ctx context.Context) error {
	var asks []resumeAsk
	if r.disk != nil {
		if err := r.disk.makeDirs(); err != nil {
			return err
		}
		asks = r.disk.asks()
	}
	w := newListWriter(r.c, recResume, nil)
	for _, a := range asks {
		if err := w.add(a.Index, maxAskBytes, func(b []byte, prev int) []byte { return appendResume(b, prev, a) }); err != nil {
			return err
		}
	}
	if err := w.flush(); err != nil {
		return err
	}
	if err := r.c.write(recAccept, accept{Claims: int64(len(asks))}.append(nil)); err != nil {
		return err
	}
	if len(asks) > 0 {
		if err := r.settle(ctx, asks); err != nil {
			return err
		}
	}
	have := r.resumedBytes()
	r.start = time.Now() // the transfer's clock: the user's answer is not part of it
	r.em.emit(Accepted{ResumeBytes: have})
	if have > 0 {
		r.progress(nil, true) // resumed bytes count from the start
	}
	return nil
}

// settle compares, here, each prefix asked about with the sender's answer,
// keeps those that match (sending the proof that it holds them) and says
// what became of each file. Hashing runs while the sender hashes its own.
func (r *receiver) settle(ctx context.Context, asks []resumeAsk) error {
	ar := &answerReader{asks: asks, prev: -1}
	if err := r.readPrefix(ctx, ar); err != nil { // the key, maybe answers
		return err
	}
	local, err := r.disk.localHashes(ctx, &ar.key, asks)
	if err != nil {
		return err
	}
	for len(ar.answers) < len(asks) {
		if err := r.readPrefix(ctx, ar); err != nil {
			return err
		}
	}
	answers := ar.answers
	var evs []ResumeChecked
	w := newListWriter(r.c, recKeep, nil)
	for i, a := range asks {
		e := &r.offer.Entries[a.Index]
		complete := r.disk.state[a.Index].candidate
		match := local[i] != nil && subtle.ConstantTimeCompare(local[i].answer[:], answers[i][:]) == 1
		if !match && complete && !r.opts.Overwrite {
			return differentContent(e)
		}
		evs = append(evs, ResumeChecked{Path: e.Path, Size: e.Size, Held: a.Have, Complete: complete, Matched: match})
		if !match {
			continue
		}
		r.disk.keep(a.Index, a.Have)
		proof := indexedHash{Index: a.Index, Hash: local[i].proof}
		if err := w.add(a.Index, maxHashBytes, func(b []byte, prev int) []byte { return appendIndexedHash(b, prev, proof) }); err != nil {
			return err
		}
	}
	if err := w.flush(); err != nil {
		return err
	}
	if err := r.c.write(recStart, accept{Claims: w.n}.append(nil)); err != nil {
		return err
	}
	for _, ev := range evs {
		r.em.emit(ev)
	}
	return nil
}

// answerReader collects the sender's answers: one per question, in order,
// all under the key of the first PREFIX record.
type answerReader struct {
	asks    []resumeAsk
	answers [][hashSize]byte
	key     [hashSize]byte
	records int
	prev    int
}

// readPrefix reads one PREFIX record.
func (r *receiver) readPrefix(ctx context.Context, ar *answerReader) error {
	m, err := r.c.next(ctx)
	if err != nil {
		return err
	}
	defer r.c.release(m)
	if m.typ != recPrefix {
		return protocolError("expected the answers to resume questions, got record %d", m.typ)
	}
	key, list, err := decodePrefix(m.p)
	switch {
	case err != nil:
	case ar.records == 0:
		ar.key = key
	case key != ar.key:
		err = errors.New("the sender changed its resume key")
	}
	if err == nil {
		ar.prev, err = decodeIndexedHashes(list, ar.prev, func(h indexedHash) error {
			if n := len(ar.answers); n == len(ar.asks) || ar.asks[n].Index != h.Index {
				return errors.New("the sender answered a resume question that was not asked")
			}
			ar.answers = append(ar.answers, h.Hash)
			return nil
		})
	}
	ar.records++
	if err != nil {
		return protocolError("bad resume answer: %v", err)
	}
	return nil
}
