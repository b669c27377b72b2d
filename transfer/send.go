package transfer

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"
)

// Send sends what opts names over ch: it walks the sources, sends the offer,
// waits for the receiver's answer, streams the data and returns nil only
// after the receiver's receipt matched what was sent. If ctx is cancelled the
// receiver is told. emit (may be nil) receives events, never concurrently.
func Send(ctx context.Context, ch Channel, opts SendOptions, emit func(Event)) error {
	em := &emitter{f: emit}
	out, err := buildOffer(opts, em)
	if err != nil {
		return err
	}
	c := newConn(ch, "receiver")
	s := &sender{c: c, out: out, opts: opts, em: em, start: time.Now()}
	err = s.run(ctx)
	return c.finish(ctx, err)
}

type sender struct {
	c     *conn
	out   *outgoing
	opts  SendOptions
	em    *emitter
	start time.Time

	// keep maps a file to the bytes the receiver proved it holds: the
	// offset its data starts at (the whole file: none is sent).
	keep map[int]int64
	// keptSums hold, for kept files, the whole-file checksum of the prefix
	// as it was read to answer the receiver, so that it is not read again:
	// a complete file's sum, or a partial one's running state (for at most
	// maxKeptPrefixSums files; the others are read again).
	keptWhole  map[int][sumSize]byte
	keptPrefix map[int]fileSum
	// resumed is the sum of keep, read by progress.
	resumed int64
}

func (s *sender) run(ctx context.Context) error {
	if err := s.out.write(s.c); err != nil {
		return fmt.Errorf("sending the offer: %w", err)
	}
	s.em.emit(OfferSent(offerEvent(s.out.header, s.out.entries, s.out.files, s.out.folders, maxSentEntries)))
	if err := s.awaitAnswer(ctx); err != nil {
		return err
	}
	var offered int64
	for _, n := range s.keep {
		offered += n
	}
	s.start = time.Now() // the transfer's clock: the wait for an answer is not part of it
	atomic.StoreInt64(&s.resumed, offered)
	s.em.emit(Accepted{ResumeBytes: offered})
	return s.stream(ctx)
}

// awaitAnswer reads the receiver's resume questions and its accept (or
// stop), then settles the questions.
func (s *sender) awaitAnswer(ctx context.Context) error {
	var asks []resumeAsk
	prev := -1
	err := s.c.readList(ctx, recResume, recAccept, "resume questions", func(p []byte) (err error) {
		prev, err = decodeResume(p, prev, func(a resumeAsk) error {
			if err := s.checkAsk(a); err != nil {
				return err
			}
			asks = append(asks, a)
			return nil
		})
		return err
	}, func() int { return len(asks) })
	if err != nil {
		return err
	}
	return s.settle(ctx, asks)
}
