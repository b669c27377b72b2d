package secure

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"sync/atomic"
	"testing"
)

// countingConn counts the Write calls that reach the transport.
type countingConn struct {
	net.Conn
	writes atomic.Int64
}

func (c *countingConn) Write(b []byte) (int, error) {
	c.writes.Add(1)
	return c.Conn.Write(b)
}

// TestBufferedRecords checks that buffered records arrive intact and in
// order among unbuffered ones, that they are gathered into few writes, and
// that ReadRecordInto's payloads survive later reads.
func TestBufferedRecords(t *testing.T) {
	a, b := tcpPair(t)
	t.Cleanup(func() { a.Close(); b.Close() })
	counted := &countingConn{Conn: a}
	hs, hr := handshakePair(t, counted, b, senderConfig(), receiverConfig())
	if hs.err != nil || hr.err != nil {
		t.Fatalf("handshake: sender: %v, receiver: %v", hs.err, hr.err)
	}
	s, r := hs.conn, hr.conn
	base := counted.writes.Load()

	type rec struct {
		typ      byte
		payload  []byte
		buffered bool
		plain    bool // buffered with BufferPlainRecord
	}
	rng := rand.New(rand.NewPCG(3, 4))
	var sent []rec
	for i := range 300 {
		n := rng.IntN(2000)
		if i%7 == 0 {
			n = MaxPayload
		}
		buffered := i%50 != 49
		sent = append(sent, rec{byte(1 + rng.IntN(255)), randomBytes(uint64(i), n), buffered, buffered && i%3 == 1})
	}
	errc := make(chan error, 1)
	go func() {
		for _, rc := range sent {
			if rc.plain {
				whole := append([]byte{rc.typ}, rc.payload...)
				if err := s.BufferPlainRecord(whole); err != nil {
					errc <- err
					return
				}
				if whole[0] != rc.typ || !bytes.Equal(whole[1:], rc.payload) {
					errc <- errors.New("BufferPlainRecord changed the record it was given")
					return
				}
				continue
			}
			write := s.WriteRecord
			if rc.buffered {
				write = s.BufferRecord
			}
			if err := write(rc.typ, rc.payload); err != nil {
				errc <- err
				return
			}
		}
		if err := s.BufferRecord(9, []byte("last")); err != nil {
			errc <- err
			return
		}
		if err := s.Flush(); err != nil {
			errc <- err
			return
		}
		errc <- s.CloseWrite()
	}()
	var kept [][]byte
	for i, want := range sent {
		buf := make([]byte, 1+MaxPayload)
		typ, payload, err := r.ReadRecordInto(buf)
		if err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
		if typ != want.typ || !bytes.Equal(payload, want.payload) {
			t.Fatalf("record %d: got type %d, %d bytes; want type %d, %d bytes", i, typ, len(payload), want.typ, len(want.payload))
		}
		kept = append(kept, payload)
	}
	if typ, payload, err := r.ReadRecord(); err != nil || typ != 9 || string(payload) != "last" {
		t.Fatalf("flushed record: type %d %q %v", typ, payload, err)
	}
	if _, _, err := r.ReadRecord(); err != io.EOF {
		t.Fatalf("after the end record: %v, want io.EOF", err)
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	for i, p := range kept {
		if !bytes.Equal(p, sent[i].payload) {
			t.Fatalf("record %d changed after later reads", i)
		}
	}
	var total int
	for _, rc := range sent {
		total += 2 + 1 + len(rc.payload) + tagSize
	}
	writes := counted.writes.Load() - base
	// 6 unbuffered records, the flush and the end record write on their
	// own; the rest are gathered into writes of up to writeBufferSize.
	if most := int64(8 + total/(writeBufferSize-2-maxFrame) + 1); writes > most {
		t.Fatalf("%d writes for %d bytes of frames, want at most %d", writes, total, most)
	}
}

func TestReadRecordIntoNeedsRoom(t *testing.T) {
	s, r := connectedPair(t, transports[1], senderConfig(), receiverConfig())
	go func() { _ = s.WriteRecord(1, []byte("x")) }()
	if _, _, err := r.ReadRecordInto(make([]byte, MaxPayload)); err == nil {
		t.Fatal("a buffer one byte short was accepted")
	}
	typ, p, err := r.ReadRecordInto(make([]byte, 1+MaxPayload))
	if err != nil || typ != 1 || string(p) != "x" {
		t.Fatalf("after the refused call: type %d %q %v", typ, p, err)
	}
}

func TestBufferRecordLimits(t *testing.T) {
	s, _ := connectedPair(t, transports[1], senderConfig(), receiverConfig())
	if err := s.BufferRecord(0, nil); err == nil {
		t.Fatal("record type 0 was buffered")
	}
	if err := s.BufferRecord(1, make([]byte, MaxPayload+1)); err == nil {
		t.Fatal("an oversized record was buffered")
	}
	oversized := make([]byte, 1+MaxPayload+1)
	oversized[0] = 1
	for _, rec := range [][]byte{nil, {0, 'x'}, oversized} {
		if err := s.BufferPlainRecord(rec); err == nil {
			t.Fatalf("BufferPlainRecord took a record of %d bytes", len(rec))
		}
	}
}
