package secure

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"testing"
)

var updateCorpus = flag.Bool("update-corpus", false, "rewrite the seed corpus in testdata/fuzz")

var (
	fuzzKeyA = [32]byte{1, 2, 3}
	fuzzKeyB = [32]byte{4, 5, 6}
)

func cipherFor(aes bool) string {
	if aes {
		return CipherAESGCM
	}
	return CipherChaChaPoly
}

// newTestConn makes a Conn with fixed keys over rw, for tests that need
// byte-exact streams.
func newTestConn(t testing.TB, cipher string, rw io.ReadWriter, send, recv [32]byte) *Conn {
	t.Helper()
	c, err := newConn(rw, bufio.NewReaderSize(rw, readBufferSize), cipher, send, recv, nil)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// validStream is what a writer keyed with fuzzKeyA sends: a few records and
// the end record.
func validStream(t testing.TB, cipher string) []byte {
	var buf bytes.Buffer
	w := newTestConn(t, cipher, &pipeRW{r: bytes.NewReader(nil), w: &buf}, fuzzKeyA, fuzzKeyB)
	for _, rec := range []struct {
		typ byte
		p   []byte
	}{{DataRecord, []byte("hello")}, {7, nil}, {2, bytes.Repeat([]byte{0xaa}, 300)}} {
		if err := w.WriteRecord(rec.typ, rec.p); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// FuzzReadRecord feeds arbitrary bytes to the record decoder: it must never
// panic, never return an oversized or reserved record, and end with io.EOF
// only after a genuine end record, otherwise with ErrCorrupt or ErrTruncated.
func FuzzReadRecord(f *testing.F) {
	for _, aes := range []bool{true, false} {
		s := validStream(f, cipherFor(aes))
		f.Add(aes, s)
		f.Add(aes, s[:len(s)-1])
		f.Add(aes, append(bytes.Clone(s), s...))
	}
	f.Add(true, []byte{0, 17})
	f.Add(false, []byte{0xff, 0xff, 0})
	valid := map[bool][]byte{true: validStream(f, cipherFor(true)), false: validStream(f, cipherFor(false))}
	f.Fuzz(func(t *testing.T, aes bool, stream []byte) {
		valid := valid[aes]
		r := newTestConn(t, cipherFor(aes), &pipeRW{r: bytes.NewReader(stream), w: io.Discard}, fuzzKeyB, fuzzKeyA)
		for i := 0; ; i++ {
			typ, p, err := r.ReadRecord()
			if err == io.EOF {
				// Only a stream starting with the whole genuine one ends cleanly.
				if !bytes.HasPrefix(stream, valid) {
					t.Fatalf("clean end on a stream that does not hold the genuine end record")
				}
				if _, _, err := r.ReadRecord(); err != io.EOF {
					t.Fatalf("after the end: %v", err)
				}
				return
			}
			if err != nil {
				if !isDetected(err) {
					t.Fatalf("unexpected error kind: %v", err)
				}
				if _, _, again := r.ReadRecord(); again != err {
					t.Fatalf("error not sticky: %v then %v", err, again)
				}
				return
			}
			if typ == 0 || len(p) > MaxPayload {
				t.Fatalf("record type %d with %d bytes", typ, len(p))
			}
			if i > len(stream) {
				t.Fatal("more records than bytes")
			}
		}
	})
}

// FuzzParseHello checks the hello parsers never panic and accept only
// canonical encodings.
func FuzzParseHello(f *testing.F) {
	f.Add(senderHello{offer: offer{hardwareAES: true, features: []string{"zstd"}}, pake: []byte(`{"Role":0}`)}.marshal())
	f.Add(receiverHello{offer: offer{features: []string{"zstd", "resume"}}, pake: []byte(`{"Role":1}`)}.marshal())
	f.Add([]byte("bob\x01\x02\x00\x10"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if h, err := parseSenderHello(b); err == nil {
			if !bytes.Equal(h.marshal(), b) {
				t.Fatalf("sender hello %x re-encodes as %x", b, h.marshal())
			}
		}
		if h, err := parseReceiverHello(b); err == nil {
			if !bytes.Equal(h.marshal(), b) {
				t.Fatalf("receiver hello %x re-encodes as %x", b, h.marshal())
			}
		}
	})
}

// FuzzHandshake plays a hostile peer sending arbitrary bytes to either side
// of the handshake: it must fail with an error, never panic or succeed.
func FuzzHandshake(f *testing.F) {
	senderSent, receiverSent := recordHandshake(f)
	f.Add(false, senderSent)
	f.Add(true, receiverSent)
	f.Add(false, []byte{0, 5, 'b', 'o', 'b', 1, 1})
	f.Fuzz(func(t *testing.T, asSender bool, in []byte) {
		cfg := receiverConfig()
		if asSender {
			cfg = senderConfig()
		}
		c, err := Handshake(context.Background(), &pipeRW{r: bytes.NewReader(in), w: io.Discard}, cfg)
		if err == nil {
			c.Close()
			t.Fatal("handshake succeeded against recorded or random bytes")
		}
	})
}

// recordHandshake returns what each side of a real handshake sent.
func recordHandshake(t testing.TB) (senderSent, receiverSent []byte) {
	var sent [2]bytes.Buffer
	a, b := newMITM(t, func(dir direction, _ int, frame []byte) ([]byte, bool) {
		sent[dir].Write(frame)
		return frame, false
	})
	s, r := handshakePair(t, a, b, senderConfig(), receiverConfig())
	if s.err != nil || r.err != nil {
		t.Fatalf("handshake: sender %v, receiver %v", s.err, r.err)
	}
	a.Close()
	b.Close()
	return sent[toReceiver].Bytes(), sent[toSender].Bytes()
}

// TestWriteSeedCorpus rewrites testdata/fuzz with -update-corpus.
func TestWriteSeedCorpus(t *testing.T) {
	if !*updateCorpus {
		t.Skip("run with -update-corpus to rewrite testdata/fuzz")
	}
	senderSent, receiverSent := recordHandshake(t)
	aesStream, chachaStream := validStream(t, CipherAESGCM), validStream(t, CipherChaChaPoly)
	seeds := map[string]map[string]string{
		"FuzzReadRecord": {
			"aes-valid":        fmt.Sprintf("bool(true)\n[]byte(%q)\n", aesStream),
			"chacha-valid":     fmt.Sprintf("bool(false)\n[]byte(%q)\n", chachaStream),
			"aes-cut":          fmt.Sprintf("bool(true)\n[]byte(%q)\n", aesStream[:len(aesStream)-5]),
			"chacha-bad-len":   fmt.Sprintf("bool(false)\n[]byte(%q)\n", append([]byte{0xff, 0xff}, chachaStream[2:]...)),
			"aes-short-frame":  fmt.Sprintf("bool(true)\n[]byte(%q)\n", []byte{0, 16, 1}),
			"aes-doubled-tail": fmt.Sprintf("bool(true)\n[]byte(%q)\n", append(bytes.Clone(aesStream), aesStream[len(aesStream)-35:]...)),
		},
		"FuzzParseHello": {
			"sender":   fmt.Sprintf("[]byte(%q)\n", senderSent[2:2+int(senderSent[0])<<8|int(senderSent[1])]),
			"receiver": fmt.Sprintf("[]byte(%q)\n", receiverSent[2:2+int(receiverSent[0])<<8|int(receiverSent[1])]),
			"features": fmt.Sprintf("[]byte(%q)\n", receiverHello{offer: offer{features: []string{"a", "b.c", "d-e_f"}}, pake: []byte("{}")}.marshal()),
		},
		"FuzzHandshake": {
			"to-receiver": fmt.Sprintf("bool(false)\n[]byte(%q)\n", senderSent),
			"to-sender":   fmt.Sprintf("bool(true)\n[]byte(%q)\n", receiverSent),
			"wrong-key":   fmt.Sprintf("bool(false)\n[]byte(%q)\n", append(senderSent[:2+int(senderSent[0])<<8|int(senderSent[1])], appendFrame(nil, wrongKeyBody)...)),
		},
	}
	for target, files := range seeds {
		dir := filepath.Join("testdata", "fuzz", target)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for name, body := range files {
			if err := os.WriteFile(filepath.Join(dir, name), []byte("go test fuzz v1\n"+body), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// TestRecordedHandshakeIsNotReplayable: replaying a whole recorded side of a
// handshake to a fresh peer fails (fresh session id and ephemeral keys).
func TestRecordedHandshakeIsNotReplayable(t *testing.T) {
	senderSent, receiverSent := recordHandshake(t)
	for _, tc := range []struct {
		cfg Config
		in  []byte
	}{{receiverConfig(), senderSent}, {senderConfig(), receiverSent}} {
		a, b := net.Pipe()
		done := make(chan struct{})
		go func() {
			defer close(done)
			io.Copy(io.Discard, b)
		}()
		go b.Write(tc.in) // ends when a or b is closed
		c, err := Handshake(context.Background(), a, tc.cfg)
		if err == nil {
			c.Close()
			t.Errorf("%s accepted a replayed handshake", tc.cfg.Role)
		}
		if tc.cfg.Role == Sender && !errors.Is(err, ErrWrongCode) {
			t.Errorf("sender got %v for a replayed receiver, want ErrWrongCode", err)
		}
		a.Close()
		b.Close()
		<-done
	}
}
