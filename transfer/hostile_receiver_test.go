package transfer

import (
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

func (p fakePeer) accept(claims ...resumeClaim) {
	var buf []byte
	prev := -1
	for _, c := range claims {
		buf = appendResume(buf, prev, c)
		prev = c.Index
	}
	if len(buf) > 0 {
		p.send(recResume, buf)
	}
	p.send(recAccept, accept{Claims: int64(len(claims))}.append(nil))
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
	prefixHash := blake3.Sum256(data[:100_000])

	t.Run("resume beyond the file", func(t *testing.T) {
		err := hostileRecv(t, so, func(p fakePeer) {
			p.readOffer()
			p.accept(resumeClaim{Index: 0, Have: 200_001})
		})
		if !errors.Is(err, ErrProtocol) || !strings.Contains(err.Error(), "has only 200000") {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("prefix hash does not match", func(t *testing.T) {
		var s sent
		err := hostileRecv(t, so, func(p fakePeer) {
			p.readOffer()
			p.accept(resumeClaim{Index: 0, Have: 100_000, Hash: blake3.Sum256([]byte("something else"))})
			s = p.readData()
			p.send(recReceipt, s.end.append(nil))
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(s.starts) != 1 || s.starts[0].Offset != 0 || s.dataBytes != 200_000 {
			t.Errorf("sender should restart the file: starts %+v, %d bytes", s.starts, s.dataBytes)
		}
	})
	t.Run("prefix hash matches", func(t *testing.T) {
		var s sent
		err := hostileRecv(t, so, func(p fakePeer) {
			p.readOffer()
			p.accept(resumeClaim{Index: 0, Have: 100_000, Hash: prefixHash})
			s = p.readData()
			p.send(recReceipt, s.end.append(nil))
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(s.starts) != 1 || s.starts[0].Offset != 100_000 || s.dataBytes != 100_000 {
			t.Errorf("sender should send the rest only: starts %+v, %d bytes", s.starts, s.dataBytes)
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
			p.accept(resumeClaim{Index: 0, Have: 1})
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
