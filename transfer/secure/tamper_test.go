package secure

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"testing"
)

// Frames from the sender: 0 is its hello, 1 Noise message 2, then records.
const firstRecordFrame = 2

// tamperRecords sends five data records and the end record through a MITM
// with tamper, and returns the payloads the receiver accepted and the
// receiver's final error.
func tamperRecords(t *testing.T, tamper func(index int, frame []byte) ([]byte, bool)) (got []string, err error) {
	t.Helper()
	a, b := newMITM(t, func(dir direction, index int, frame []byte) ([]byte, bool) {
		if dir == toReceiver && index >= firstRecordFrame {
			return tamper(index-firstRecordFrame, frame)
		}
		return frame, false
	})
	s, r := handshakePair(t, a, b, senderConfig(), receiverConfig())
	if s.err != nil || r.err != nil {
		t.Fatalf("handshake: sender %v, receiver %v", s.err, r.err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range 5 {
			if s.conn.WriteRecord(DataRecord, fmt.Appendf(nil, "record %d", i)) != nil {
				return
			}
		}
		s.conn.CloseWrite()
	}()
	defer func() {
		r.conn.Close()
		s.conn.Close()
		<-done
	}()
	for range 10 {
		_, p, err := r.conn.ReadRecord()
		if err != nil {
			return got, err
		}
		got = append(got, string(p))
	}
	t.Fatal("receiver read more records than were sent")
	return nil, nil
}

func records(n int) []string {
	var out []string
	for i := range n {
		out = append(out, fmt.Sprintf("record %d", i))
	}
	return out
}

func flipBit(frame []byte, at int) []byte {
	out := bytes.Clone(frame)
	out[at] ^= 0x10
	return out
}

func TestTamperedRecordsDetected(t *testing.T) {
	var held []byte
	tests := []struct {
		name     string
		tamper   func(i int, frame []byte) ([]byte, bool)
		intact   int   // records accepted before the error
		want     error // nil: ErrCorrupt or ErrTruncated
		wantKind error
	}{
		{"untouched", func(i int, f []byte) ([]byte, bool) { return f, false }, 5, io.EOF, nil},
		{"bit flip in ciphertext", func(i int, f []byte) ([]byte, bool) {
			if i == 2 {
				return flipBit(f, 3), false
			}
			return f, false
		}, 2, ErrCorrupt, nil},
		{"bit flip in tag", func(i int, f []byte) ([]byte, bool) {
			if i == 2 {
				return flipBit(f, len(f)-1), false
			}
			return f, false
		}, 2, ErrCorrupt, nil},
		{"bit flip in length", func(i int, f []byte) ([]byte, bool) {
			if i == 2 {
				return flipBit(f, 1), false
			}
			return f, false
		}, 2, nil, nil},
		{"dropped", func(i int, f []byte) ([]byte, bool) {
			if i == 2 {
				return nil, false
			}
			return f, false
		}, 2, ErrCorrupt, nil},
		{"duplicated", func(i int, f []byte) ([]byte, bool) {
			if i == 2 {
				return append(bytes.Clone(f), f...), false
			}
			return f, false
		}, 3, ErrCorrupt, nil},
		{"reordered", func(i int, f []byte) ([]byte, bool) {
			switch i {
			case 2:
				held = bytes.Clone(f)
				return nil, false
			case 3:
				return append(bytes.Clone(f), held...), false
			}
			return f, false
		}, 2, ErrCorrupt, nil},
		{"cut at a record boundary", func(i int, f []byte) ([]byte, bool) {
			return f, i == 2
		}, 3, ErrTruncated, io.ErrUnexpectedEOF},
		{"cut inside a record", func(i int, f []byte) ([]byte, bool) {
			if i == 3 {
				return f[:len(f)/2], true
			}
			return f, false
		}, 3, ErrTruncated, io.ErrUnexpectedEOF},
		{"cut inside a length", func(i int, f []byte) ([]byte, bool) {
			if i == 3 {
				return f[:1], true
			}
			return f, false
		}, 3, ErrTruncated, io.ErrUnexpectedEOF},
		{"end record dropped", func(i int, f []byte) ([]byte, bool) {
			if i == 5 {
				return nil, true
			}
			return f, false
		}, 5, ErrTruncated, io.ErrUnexpectedEOF},
		{"end record altered", func(i int, f []byte) ([]byte, bool) {
			if i == 5 {
				return flipBit(f, 2), false
			}
			return f, false
		}, 5, ErrCorrupt, nil},
		{"short frame injected", func(i int, f []byte) ([]byte, bool) {
			if i == 1 {
				return append([]byte{0, 3, 1, 2, 3}, f...), false
			}
			return f, false
		}, 1, ErrCorrupt, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tamperRecords(t, tc.tamper)
			if want := records(tc.intact); !slices.Equal(got, want) {
				t.Errorf("accepted %q, want %q", got, want)
			}
			switch {
			case tc.want == nil:
				if !isDetected(err) {
					t.Errorf("error %v, want ErrCorrupt or ErrTruncated", err)
				}
			case !errors.Is(err, tc.want):
				t.Errorf("error %v, want %v", err, tc.want)
			}
			if tc.wantKind != nil && !errors.Is(err, tc.wantKind) {
				t.Errorf("error %v does not wrap %v", err, tc.wantKind)
			}
		})
	}
}

func TestRecordFromAnotherSessionDetected(t *testing.T) {
	// Record the first data frame of one session...
	var recorded []byte
	got, err := tamperRecords(t, func(i int, f []byte) ([]byte, bool) {
		if i == 0 {
			recorded = bytes.Clone(f)
		}
		return f, false
	})
	if err != io.EOF || len(got) != 5 {
		t.Fatalf("first session: %q, %v", got, err)
	}
	// ...and replay it in place of the same frame of a second session with
	// the same code.
	got, err = tamperRecords(t, func(i int, f []byte) ([]byte, bool) {
		if i == 0 {
			return recorded, false
		}
		return f, false
	})
	if len(got) != 0 || !errors.Is(err, ErrCorrupt) {
		t.Fatalf("replayed record: accepted %q, error %v", got, err)
	}
}

// tamperHandshake runs a handshake through a MITM that alters one handshake
// frame, and returns both sides' errors.
func tamperHandshake(t *testing.T, sc, rc Config, tamper func(dir direction, index int, frame []byte) []byte) (senderErr, receiverErr error) {
	t.Helper()
	a, b := newMITM(t, func(dir direction, index int, frame []byte) ([]byte, bool) {
		return tamper(dir, index, frame), false
	})
	s, r := handshakePair(t, a, b, sc, rc)
	for _, c := range []*Conn{s.conn, r.conn} {
		if c != nil {
			c.Close()
		}
	}
	return s.err, r.err
}

// rewriteHello parses a hello frame, lets edit change it and re-encodes it.
func rewriteSenderHello(t *testing.T, frame []byte, edit func(*senderHello)) []byte {
	h, err := parseSenderHello(frame[2:])
	if err != nil {
		t.Errorf("parsing the sender's hello: %v", err)
		return frame
	}
	edit(&h)
	return appendFrame(nil, h.marshal())
}

func rewriteReceiverHello(t *testing.T, frame []byte, edit func(*receiverHello)) []byte {
	h, err := parseReceiverHello(frame[2:])
	if err != nil {
		t.Errorf("parsing the receiver's hello: %v", err)
		return frame
	}
	edit(&h)
	return appendFrame(nil, h.marshal())
}

func TestHandshakeTamperingDetected(t *testing.T) {
	tests := []struct {
		name   string
		dir    direction
		index  int
		tamper func(t *testing.T, frame []byte) []byte
	}{
		{"sender's cipher offer toggled", toReceiver, 0, func(t *testing.T, f []byte) []byte {
			return rewriteSenderHello(t, f, func(h *senderHello) { h.offer.hardwareAES = !h.offer.hardwareAES })
		}},
		{"receiver's cipher offer toggled", toSender, 0, func(t *testing.T, f []byte) []byte {
			return rewriteReceiverHello(t, f, func(h *receiverHello) { h.offer.hardwareAES = !h.offer.hardwareAES })
		}},
		{"sender's feature removed", toReceiver, 0, func(t *testing.T, f []byte) []byte {
			return rewriteSenderHello(t, f, func(h *senderHello) { h.offer.features = nil })
		}},
		{"receiver's feature removed", toSender, 0, func(t *testing.T, f []byte) []byte {
			return rewriteReceiverHello(t, f, func(h *receiverHello) { h.offer.features = h.offer.features[1:] })
		}},
		{"feature added", toSender, 0, func(t *testing.T, f []byte) []byte {
			return rewriteReceiverHello(t, f, func(h *receiverHello) { h.offer.features = append(h.offer.features, "plaintext") })
		}},
		{"session id changed", toReceiver, 0, func(t *testing.T, f []byte) []byte {
			return rewriteSenderHello(t, f, func(h *senderHello) { h.sessionID[0] ^= 1 })
		}},
		{"Noise message 1 altered", toSender, 1, func(t *testing.T, f []byte) []byte { return flipBit(f, len(f)-1) }},
		{"Noise ephemeral altered", toSender, 1, func(t *testing.T, f []byte) []byte { return flipBit(f, 5) }},
		{"Noise message 2 altered", toReceiver, 1, func(t *testing.T, f []byte) []byte { return flipBit(f, len(f)-1) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			serr, rerr := tamperHandshake(t, senderConfig(), receiverConfig(), func(dir direction, index int, f []byte) []byte {
				if dir == tc.dir && index == tc.index {
					return tc.tamper(t, f)
				}
				return f
			})
			if rerr == nil {
				t.Errorf("receiver accepted the tampered handshake")
			}
			// When the sender accepted Noise message 1 it cannot know that
			// message 2 was altered on the way; its first read fails later.
			if serr == nil && !(tc.dir == toReceiver && tc.index == 1) {
				t.Errorf("sender accepted the tampered handshake")
			}
			t.Logf("sender: %v; receiver: %v", serr, rerr)
		})
	}
}

func TestReflectedRecordDetected(t *testing.T) {
	// The relay sends the receiver's own record back to it in place of the
	// sender's: each direction has its own key, so it does not authenticate.
	captured := make(chan []byte, 1)
	a, b := newMITM(t, func(dir direction, index int, frame []byte) ([]byte, bool) {
		switch {
		case dir == toSender && index == firstRecordFrame:
			captured <- bytes.Clone(frame)
		case dir == toReceiver && index == firstRecordFrame:
			return <-captured, false
		}
		return frame, false
	})
	s, r := handshakePair(t, a, b, senderConfig(), receiverConfig())
	if s.err != nil || r.err != nil {
		t.Fatalf("handshake: sender %v, receiver %v", s.err, r.err)
	}
	defer s.conn.Close()
	defer r.conn.Close()
	errc := make(chan error, 1)
	go func() {
		// The sender answers only once the receiver's record went past.
		_, _, err := s.conn.ReadRecord()
		if err == nil {
			err = s.conn.WriteRecord(DataRecord, []byte("from sender"))
		}
		errc <- err
	}()
	if err := r.conn.WriteRecord(DataRecord, []byte("from receiver")); err != nil {
		t.Fatal(err)
	}
	if _, p, err := r.conn.ReadRecord(); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("reflected record: %q, %v; want ErrCorrupt", p, err)
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
}
