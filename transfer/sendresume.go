package transfer

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"fmt"

	"github.com/bob-p2p/bob/transfer/internal/sysio"
)

func (s *sender) checkAsk(a resumeAsk) error {
	if a.Index >= len(s.out.entries) {
		return protocolError("the receiver asks about a file that is not in the offer")
	}
	e := &s.out.entries[a.Index]
	if e.Kind != kindFile {
		return protocolError("the receiver asks to resume \"%s\", which is not a file", e.Path)
	}
	if a.Have > e.Size {
		return protocolError("the receiver holds %d bytes of \"%s\", which has only %d", a.Have, e.Path, e.Size)
	}
	return nil
}

// settle answers the resume questions with the hashes of the sender's own
// prefixes and reads which ones the receiver keeps. A keep counts only with
// its proof: a receiver cannot make the sender skip bytes it does not hold.
func (s *sender) settle(ctx context.Context, asks []resumeAsk) error {
	s.keep = make(map[int]int64)
	s.keptWhole, s.keptPrefix = make(map[int][sumSize]byte), make(map[int]fileSum)
	if len(asks) == 0 {
		return nil
	}
	// The receiver waits for every answer: a record from it while the
	// sender hashes is a stop (or a breach), and ends the hashing.
	var proofs []*[hashSize]byte
	var w *listWriter
	err := s.c.quiet(ctx, "the answers to its questions", func(ctx context.Context) (err error) {
		proofs, w, err = s.answerAsks(ctx, asks)
		return err
	})
	if err == nil {
		err = w.flush() // the last answers: the receiver may answer at once
	}
	if err != nil {
		return err
	}
	defer s.forgetUnkeptSums()
	j, prev := 0, -1
	return s.c.readList(ctx, recKeep, recStart, "kept files", func(p []byte) (err error) {
		prev, err = decodeIndexedHashes(p, prev, func(k indexedHash) error {
			for j < len(asks) && asks[j].Index < k.Index {
				j++
			}
			if j == len(asks) || asks[j].Index != k.Index {
				return protocolError("the receiver keeps a file it did not ask about")
			}
			if p := proofs[j]; p == nil || subtle.ConstantTimeCompare(p[:], k.Hash[:]) != 1 {
				return protocolError("the receiver asked to keep %d bytes of \"%s\" without proving it holds them",
					asks[j].Have, s.out.entries[k.Index].Path)
			}
			s.keep[k.Index] = asks[j].Have
			return nil
		})
		return err
	}, func() int { return len(s.keep) })
}

// maxKeptPrefixSums bounds the running checksums of partly kept files held
// from the answers to the data (an xxh3 state is about a kilobyte).
const maxKeptPrefixSums = 64

// forgetUnkeptSums drops the checksums of prefixes the receiver did not keep.
func (s *sender) forgetUnkeptSums() {
	for idx := range s.keptWhole {
		if _, ok := s.keep[idx]; !ok {
			delete(s.keptWhole, idx)
		}
	}
	for idx := range s.keptPrefix {
		if _, ok := s.keep[idx]; !ok {
			delete(s.keptPrefix, idx)
		}
	}
}

// answerAsks hashes the sender's prefix at each length asked about and
// sends the answers, under a new random key, but for the last record,
// left in the writer it returns. It returns the proof expected for each
// question (nil where the file is now shorter than asked: nothing can
// prove it).
func (s *sender) answerAsks(ctx context.Context, asks []resumeAsk) ([]*[hashSize]byte, *listWriter, error) {
	var key [hashSize]byte
	rand.Read(key[:]) // never fails (crypto/rand)
	// The key goes first, alone: the receiver hashes its own files while
	// the sender hashes.
	w := newListWriter(s.c, recPrefix, key[:])
	if err := w.send(); err != nil {
		return nil, nil, err
	}
	roots := &sourceRoots{dirs: s.out.dirs}
	defer roots.close()
	proofs := make([]*[hashSize]byte, len(asks))
	buf := make([]byte, 256<<10)
	for i, a := range asks {
		e := &s.out.entries[a.Index]
		f, err := roots.open(s.out.srcs[a.Index])
		if err != nil {
			return nil, nil, fmt.Errorf("cannot read \"%s\": %w", e.Path, err)
		}
		// The prefix also goes into the whole-file checksum now, so that a
		// kept prefix is not read a second time for FILE_END.
		sum := newFileSum()
		ph, n, err := hashPrefix(ctx, &key, sysio.SourceReader(f), a.Have, sum, buf)
		f.Close()
		if err != nil {
			if ctx.Err() != nil {
				return nil, nil, ctx.Err()
			}
			return nil, nil, fmt.Errorf("cannot read \"%s\": %w", e.Path, err)
		}
		if n == a.Have {
			proofs[i] = &ph.proof
			switch {
			case a.Have == e.Size:
				s.keptWhole[a.Index] = sum.sum()
			case len(s.keptPrefix) < maxKeptPrefixSums:
				s.keptPrefix[a.Index] = sum
			}
		}
		answer := indexedHash{Index: a.Index, Hash: ph.answer}
		if err := w.add(a.Index, maxHashBytes, func(b []byte, prev int) []byte { return appendIndexedHash(b, prev, answer) }); err != nil {
			return nil, nil, err
		}
	}
	return proofs, w, nil
}
