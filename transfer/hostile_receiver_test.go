package transfer

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bob-p2p/bob/transfer/internal/chantest"
	"github.com/zeebo/blake3"
)

// hostileRecv runs a real sender against script acting as the receiver.
func hostileRecv(t *testing.T, so SendOptions, script func(p fakePeer)) error {
	t.Helper()
	a, b := chantest.Pair(64)
	defer a.Close()
	errc := make(chan error, 1)
	go func() { errc <- Send(context.Background(), a, so, nil) }()
	p := fakePeer{t: t, e: b}
	script(p)
	p.finish()
	return <-errc
}

// readOffer reads a whole offer as a receiver would.
func (p fakePeer) readOffer() []entry {
	p.t.Helper()
	typ, b, err := p.read()
	if err != nil || typ != recOffer {
		p.t.Fatalf("offer: %d %v", typ, err)
	}
	h, err := decodeOfferHeader(b)
	if err != nil {
		p.t.Fatal(err)
	}
	var ents []entry
	for int64(len(ents)) < h.Count {
		typ, b, err := p.read()
		if err != nil || typ != recEntries {
			p.t.Fatalf("entries: %d %v", typ, err)
		}
		decodeEntries(b, func(e entry) error { ents = append(ents, e); return nil })
	}
	return ents
}

// accept sends resume questions and the accept.
func (p fakePeer) accept(asks ...resumeAsk) {
	sendList(p, recResume, recAccept, asks, func(a resumeAsk) int { return a.Index }, appendResume)
}

// sendList sends items as one delta-coded record of type typ (if any),
// then the record end that counts them.
func sendList[T any](p fakePeer, typ, end byte, items []T, index func(T) int, enc func([]byte, int, T) []byte) {
	var buf []byte
	prev := -1
	for _, it := range items {
		buf = enc(buf, prev, it)
		prev = index(it)
	}
	if len(buf) > 0 {
		p.send(typ, buf)
	}
	p.send(end, accept{Claims: int64(len(items))}.append(nil))
}

// readAnswers reads the sender's resume key and its answers to n
// questions.
func (p fakePeer) readAnswers(n int) (key [hashSize]byte, got []indexedHash) {
	p.t.Helper()
	prev := -1
	for first := true; first || len(got) < n; first = false {
		typ, b, err := p.read()
		if err != nil || typ != recPrefix {
			p.t.Fatalf("answers: record %d, %v", typ, err)
		}
		k, list, err := decodePrefix(b)
		if err != nil || (!first && k != key) {
			p.t.Fatalf("answers: key %x after %x, %v", k, key, err)
		}
		key = k
		if prev, err = decodeIndexedHashes(list, prev, func(h indexedHash) error { got = append(got, h); return nil }); err != nil {
			p.t.Fatal(err)
		}
	}
	return key, got
}

// keep sends keeps (with the proofs given) and the start.
func (p fakePeer) keep(keeps ...indexedHash) {
	sendList(p, recKeep, recStart, keeps, func(k indexedHash) int { return k.Index }, appendIndexedHash)
}

// prefixOf is the prefix hash of data under key.
func prefixOf(t *testing.T, key [hashSize]byte, data []byte) prefixHash {
	t.Helper()
	ph, _, err := hashPrefix(t.Context(), &key, bytes.NewReader(data), int64(len(data)), nil, make([]byte, 4096))
	if err != nil {
		t.Fatal(err)
	}
	return ph
}

// sent is what a sender sent after the answer.
type sent struct {
	starts    []fileStart
	dataBytes int64 // file bytes (decoded) in data records
	end       summary
}

// readData reads until the sender's end record.
func (p fakePeer) readData() sent {
	p.t.Helper()
	var s sent
	dec, _ := newDecoder()
	defer dec.Close()
	for {
		typ, b, err := p.read()
		if err != nil {
			p.t.Fatalf("reading data: %v", err)
		}
		switch typ {
		case recFileStart:
			st, _ := decodeFileStart(b)
			s.starts = append(s.starts, st)
		case recData:
			switch b[0] {
			case blockRaw:
				s.dataBytes += int64(len(b) - 1)
			case blockZstd:
				out, err := dec.DecodeAll(b[1:], nil)
				if err != nil {
					p.t.Fatal(err)
				}
				s.dataBytes += int64(len(out))
			case blockZero:
				n, _ := binary.Uvarint(b[1:])
				s.dataBytes += int64(n)
			}
		case recEnd:
			s.end, _ = decodeSummary(b)
			return s
		case recStop:
			st, _ := decodeStop(b)
			p.t.Fatalf("sender stopped: %s", st.Message)
		}
	}
}

func TestHostileReceiver(t *testing.T) {
	dir := t.TempDir()
	data := randBytes(7, 200_000)
	src := filepath.Join(dir, "f.bin")
	writeFile(t, src, data, 0o644)
	so := SendOptions{Paths: []string{src}, Compress: "off"}
	data2 := randBytes(9, 1000)
	src2 := filepath.Join(dir, "g.bin")
	writeFile(t, src2, data2, 0o644)

	t.Run("resume beyond the file", func(t *testing.T) {
		err := hostileRecv(t, so, func(p fakePeer) {
			p.readOffer()
			p.accept(resumeAsk{Index: 0, Have: 200_001})
		})
		if !errors.Is(err, ErrProtocol) || !strings.Contains(err.Error(), "has only 200000") {
			t.Fatalf("got %v", err)
		}
	})
	// The sender answers with the hash of its own prefix at the length
	// asked, under its resume key; the receiver keeps it with the proof.
	t.Run("prefix kept with its proof", func(t *testing.T) {
		var s sent
		var answer, want prefixHash
		err := hostileRecv(t, so, func(p fakePeer) {
			p.readOffer()
			p.accept(resumeAsk{Index: 0, Have: 100_000})
			key, ans := p.readAnswers(1)
			answer.answer, want = ans[0].Hash, prefixOf(t, key, data[:100_000])
			p.keep(indexedHash{Index: 0, Hash: want.proof})
			s = p.readData()
			p.send(recReceipt, s.end.append(nil))
		})
		if err != nil {
			t.Fatal(err)
		}
		if answer.answer != want.answer {
			t.Error("the sender's answer is not the keyed hash of its prefix")
		}
		if len(s.starts) != 1 || s.starts[0].Offset != 100_000 || s.dataBytes != 100_000 {
			t.Errorf("sender should send the rest only: starts %+v, %d bytes", s.starts, s.dataBytes)
		}
	})
	t.Run("prefix not kept", func(t *testing.T) {
		var s sent
		err := hostileRecv(t, so, func(p fakePeer) {
			p.readOffer()
			p.accept(resumeAsk{Index: 0, Have: 100_000})
			p.readAnswers(1)
			p.keep()
			s = p.readData()
			p.send(recReceipt, s.end.append(nil))
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(s.starts) != 1 || s.starts[0].Offset != 0 || s.dataBytes != 200_000 {
			t.Errorf("sender should send the whole file: starts %+v, %d bytes", s.starts, s.dataBytes)
		}
	})
	// A receiver that does not hold the prefix cannot make the sender skip
	// it: the answer it was given is no proof, nor is the plain hash the
	// old protocol took, nor a proof under another transfer's key.
	t.Run("keep without proof", func(t *testing.T) {
		for name, forge := range map[string]func(key, answer [hashSize]byte) [hashSize]byte{
			"the answer echoed": func(_, answer [hashSize]byte) [hashSize]byte { return answer },
			"an unkeyed hash":   func(_, _ [hashSize]byte) [hashSize]byte { return blake3.Sum256(data[:100_000]) },
			"another key's proof": func(key, _ [hashSize]byte) [hashSize]byte {
				key[0] ^= 1
				return prefixOf(t, key, data[:100_000]).proof
			},
		} {
			t.Run(name, func(t *testing.T) {
				err := hostileRecv(t, so, func(p fakePeer) {
					p.readOffer()
					p.accept(resumeAsk{Index: 0, Have: 100_000})
					key, ans := p.readAnswers(1)
					p.keep(indexedHash{Index: 0, Hash: forge(key, ans[0].Hash)})
				})
				if !errors.Is(err, ErrProtocol) || !strings.Contains(err.Error(), "without proving") {
					t.Fatalf("got %v", err)
				}
			})
		}
	})
	t.Run("keep not asked about", func(t *testing.T) {
		err := hostileRecv(t, SendOptions{Paths: []string{src, src2}, Compress: "off"}, func(p fakePeer) {
			p.readOffer()
			p.accept(resumeAsk{Index: 0, Have: 10})
			key, _ := p.readAnswers(1)
			p.keep(indexedHash{Index: 1, Hash: prefixOf(t, key, data2[:10]).proof})
		})
		if !errors.Is(err, ErrProtocol) || !strings.Contains(err.Error(), "did not ask about") {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("keeps miscounted", func(t *testing.T) {
		err := hostileRecv(t, so, func(p fakePeer) {
			p.readOffer()
			p.accept(resumeAsk{Index: 0, Have: 10})
			p.readAnswers(1)
			p.send(recStart, accept{Claims: 1}.append(nil))
		})
		if !errors.Is(err, ErrProtocol) || !strings.Contains(err.Error(), "kept files") {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("receipt lies", func(t *testing.T) {
		for _, lie := range []func(*summary){
			func(s *summary) { s.Digest[0] ^= 1 },
			func(s *summary) { s.Bytes-- },
			func(s *summary) { s.Files++ },
		} {
			err := hostileRecv(t, so, func(p fakePeer) {
				p.readOffer()
				p.accept()
				s := p.readData()
				lie(&s.end)
				p.send(recReceipt, s.end.append(nil))
			})
			if !errors.Is(err, ErrVerify) || !strings.Contains(err.Error(), "receipt does not match") {
				t.Fatalf("got %v", err)
			}
		}
	})
	t.Run("claim on a folder", func(t *testing.T) {
		err := hostileRecv(t, SendOptions{Paths: []string{dir}}, func(p fakePeer) {
			p.readOffer()
			p.accept(resumeAsk{Index: 0, Have: 1})
		})
		if !errors.Is(err, ErrProtocol) || !strings.Contains(err.Error(), "not a file") {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("claims miscounted", func(t *testing.T) {
		err := hostileRecv(t, so, func(p fakePeer) {
			p.readOffer()
			p.send(recAccept, accept{Claims: 3}.append(nil))
		})
		if !errors.Is(err, ErrProtocol) {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("receiver ends early", func(t *testing.T) {
		err := hostileRecv(t, so, func(p fakePeer) {
			p.readOffer()
			p.e.CloseWrite()
		})
		if !errors.Is(err, ErrProtocol) || !strings.Contains(err.Error(), "ended the stream early") {
			t.Fatalf("got %v", err)
		}
	})
}

func TestHostileReceiverEarly(t *testing.T) {
	src := filepath.Join(t.TempDir(), "big.bin")
	writeFile(t, src, randBytes(8, 16<<20), 0o644)
	so := SendOptions{Paths: []string{src}, Compress: "off"}
	// The channel buffers 64 records, far less than the file: its end
	// cannot have been sent when these arrive.
	t.Run("ack", func(t *testing.T) {
		err := hostileRecv(t, so, func(p fakePeer) {
			p.readOffer()
			p.accept()
			p.send(recAck, binary.AppendUvarint(nil, 0))
		})
		if !errors.Is(err, ErrProtocol) || !strings.Contains(err.Error(), "cannot have") {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("receipt", func(t *testing.T) {
		err := hostileRecv(t, so, func(p fakePeer) {
			p.readOffer()
			p.accept()
			p.send(recReceipt, summary{Files: 1, Bytes: 16 << 20}.append(nil))
		})
		if !errors.Is(err, ErrProtocol) || !strings.Contains(err.Error(), "receipt before") {
			t.Fatalf("got %v", err)
		}
	})
}
