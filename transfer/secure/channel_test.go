package secure

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"slices"
	"sync"
	"testing"
	"time"
)

func TestHandshakeAgrees(t *testing.T) {
	for _, tr := range transports {
		for _, cipher := range []string{CipherAESGCM, CipherChaChaPoly} {
			t.Run(tr.name+"/"+cipher, func(t *testing.T) {
				sc, rc := senderConfig(), receiverConfig()
				sc.ForceCipher, rc.ForceCipher = cipher, cipher
				s, r := connectedPair(t, tr, sc, rc)
				if s.Cipher() != cipher || r.Cipher() != cipher {
					t.Fatalf("ciphers %s/%s, want %s", s.Cipher(), r.Cipher(), cipher)
				}
				if got := s.PeerFeatures(); !slices.Equal(got, rc.Features) {
					t.Errorf("sender sees features %q, want %q", got, rc.Features)
				}
				if got := r.PeerFeatures(); !slices.Equal(got, sc.Features) {
					t.Errorf("receiver sees features %q, want %q", got, sc.Features)
				}
			})
		}
	}
}

func TestAutoCipherFollowsHardware(t *testing.T) {
	s, r := connectedPair(t, transports[0], senderConfig(), receiverConfig())
	want := CipherChaChaPoly
	if hasHardwareAES() {
		want = CipherAESGCM
	}
	if s.Cipher() != want || r.Cipher() != want {
		t.Fatalf("ciphers %s/%s, want %s", s.Cipher(), r.Cipher(), want)
	}
	// A peer without hardware AES (as if forced to ChaCha20-Poly1305) makes
	// both sides use ChaCha20-Poly1305.
	rc := receiverConfig()
	rc.ForceCipher = CipherChaChaPoly
	s, r = connectedPair(t, transports[0], senderConfig(), rc)
	if s.Cipher() != CipherChaChaPoly || r.Cipher() != CipherChaChaPoly {
		t.Fatalf("ciphers %s/%s, want ChaChaPoly on both", s.Cipher(), r.Cipher())
	}
}

func TestForcedCipherMismatchFails(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	sc, rc := senderConfig(), receiverConfig()
	sc.ForceCipher, rc.ForceCipher = CipherAESGCM, CipherChaChaPoly
	s, r := handshakePair(t, a, b, sc, rc)
	if s.err == nil || r.err == nil {
		t.Fatalf("handshake with conflicting forced ciphers: sender %v, receiver %v", s.err, r.err)
	}
}

func TestWrongCode(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			a, b := tr.pair(t)
			defer a.Close()
			defer b.Close()
			rc := receiverConfig()
			rc.Code = "7-guitarist-revenue"
			s, r := handshakePair(t, a, b, senderConfig(), rc)
			if !errors.Is(s.err, ErrWrongCode) {
				t.Errorf("sender: %v, want ErrWrongCode", s.err)
			}
			if !errors.Is(r.err, ErrWrongCode) {
				t.Errorf("receiver: %v, want ErrWrongCode", r.err)
			}
		})
	}
}

func TestCodeIsNormalised(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	rc := receiverConfig()
	rc.Code = "  7-Guitarist-REVENGE\n"
	s, r := handshakePair(t, a, b, senderConfig(), rc)
	if s.err != nil || r.err != nil {
		t.Fatalf("sender %v, receiver %v", s.err, r.err)
	}
}

func TestWrongNameplate(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	rc := receiverConfig()
	rc.Nameplate = "8"
	s, r := handshakePair(t, a, b, senderConfig(), rc)
	if !errors.Is(s.err, ErrWrongCode) || !errors.Is(r.err, ErrWrongCode) {
		t.Fatalf("sender %v, receiver %v: want ErrWrongCode on both", s.err, r.err)
	}
}

func TestConfigChecked(t *testing.T) {
	bad := []Config{
		{Code: " ", Role: Sender},
		{Code: testCode, Role: 7},
		{Code: testCode, Role: Sender, Features: []string{"Zstd"}},
		{Code: testCode, Role: Sender, Features: []string{"zstd", "zstd"}},
		{Code: testCode, Role: Sender, Features: []string{""}},
		{Code: testCode, Role: Sender, ForceCipher: "AES"},
	}
	for _, cfg := range bad {
		var buf bytes.Buffer
		if _, err := Handshake(context.Background(), &buf, cfg); err == nil {
			t.Errorf("config %+v accepted", cfg)
		}
		if buf.Len() != 0 {
			t.Errorf("config %+v: bytes written before the config was checked", cfg)
		}
	}
}

// exchange sends data one way and the other at once with Write/Read, then
// checks both arrive intact and end with a clean EOF.
func exchange(t *testing.T, s, r *Conn, toReceiver, toSender []byte) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	send := func(c *Conn, p []byte) {
		defer wg.Done()
		if _, err := c.Write(p); err != nil {
			errs <- err
			return
		}
		if err := c.CloseWrite(); err != nil {
			errs <- err
		}
	}
	recv := func(c *Conn, want []byte) {
		defer wg.Done()
		got, err := io.ReadAll(c)
		if err != nil {
			errs <- err
			return
		}
		if !bytes.Equal(got, want) {
			errs <- fmt.Errorf("received %d bytes differing from the %d sent", len(got), len(want))
		}
	}
	wg.Add(4)
	go send(s, toReceiver)
	go send(r, toSender)
	go recv(r, toReceiver)
	go recv(s, toSender)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func randomBytes(seed uint64, n int) []byte {
	b := make([]byte, n)
	rng := rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8), byte(seed >> 16)})
	rng.Read(b)
	return b
}

func TestRoundTrip(t *testing.T) {
	sizes := []int{0, 1, MaxPayload - 1, MaxPayload, MaxPayload + 1, 65519, 65520, 3*MaxPayload + 7, 10 << 20}
	for _, tr := range transports {
		for _, cipher := range []string{CipherAESGCM, CipherChaChaPoly} {
			t.Run(tr.name+"/"+cipher, func(t *testing.T) {
				for i, n := range sizes {
					sc, rc := senderConfig(), receiverConfig()
					sc.ForceCipher, rc.ForceCipher = cipher, cipher
					s, r := connectedPair(t, tr, sc, rc)
					exchange(t, s, r, randomBytes(uint64(2*i), n), randomBytes(uint64(2*i+1), n))
				}
			})
		}
	}
}

func TestRecordsKeepTypeAndBoundaries(t *testing.T) {
	s, r := connectedPair(t, transports[1], senderConfig(), receiverConfig())
	type rec struct {
		typ     byte
		payload []byte
	}
	rng := rand.New(rand.NewPCG(1, 2))
	var sent []rec
	for i := range 200 {
		n := rng.IntN(300)
		if i%20 == 0 {
			n = MaxPayload
		}
		sent = append(sent, rec{byte(1 + rng.IntN(255)), randomBytes(uint64(i), n)})
	}
	errc := make(chan error, 1)
	go func() {
		for _, rc := range sent {
			if err := s.WriteRecord(rc.typ, rc.payload); err != nil {
				errc <- err
				return
			}
		}
		errc <- s.CloseWrite()
	}()
	for i, want := range sent {
		typ, payload, err := r.ReadRecord()
		if err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
		if typ != want.typ || !bytes.Equal(payload, want.payload) {
			t.Fatalf("record %d: got type %d, %d bytes; want type %d, %d bytes", i, typ, len(payload), want.typ, len(want.payload))
		}
	}
	for range 2 {
		if _, _, err := r.ReadRecord(); err != io.EOF {
			t.Fatalf("after the end record: %v, want io.EOF", err)
		}
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
}

func TestWriteLimits(t *testing.T) {
	s, r := connectedPair(t, transports[0], senderConfig(), receiverConfig())
	if err := s.WriteRecord(0, nil); err == nil {
		t.Error("record type 0 accepted")
	}
	if err := s.WriteRecord(9, make([]byte, MaxPayload+1)); err == nil {
		t.Error("oversized record accepted")
	}
	done := make(chan error, 1)
	go func() {
		_, p, err := r.ReadRecord()
		if err == nil && len(p) != MaxPayload {
			err = fmt.Errorf("got %d bytes", len(p))
		}
		if err == nil {
			_, _, err = r.ReadRecord()
			if err == io.EOF {
				err = nil
			}
		}
		done <- err
	}()
	if err := s.WriteRecord(9, make([]byte, MaxPayload)); err != nil {
		t.Fatal(err)
	}
	if err := s.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	if err := s.CloseWrite(); err != nil {
		t.Errorf("second CloseWrite: %v", err)
	}
	if err := s.WriteRecord(9, nil); !errors.Is(err, ErrWriteClosed) {
		t.Errorf("write after CloseWrite: %v", err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestCloseWithoutEndIsTruncation(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			s, r := connectedPair(t, tr, senderConfig(), receiverConfig())
			go func() {
				s.WriteRecord(DataRecord, []byte("partial"))
				s.Close()
			}()
			if _, p, err := r.ReadRecord(); err != nil || string(p) != "partial" {
				t.Fatalf("first record: %q, %v", p, err)
			}
			_, _, err := r.ReadRecord()
			if !errors.Is(err, ErrTruncated) || !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Fatalf("after Close: %v, want ErrTruncated", err)
			}
			if _, err := io.ReadAll(r); !errors.Is(err, ErrTruncated) {
				t.Fatalf("ReadAll after truncation: %v", err)
			}
		})
	}
}

func TestHandshakeRespectsContext(t *testing.T) {
	t.Run("net.Conn", func(t *testing.T) {
		a, b := net.Pipe()
		defer a.Close()
		defer b.Close()
		go io.Copy(io.Discard, b) // a silent peer
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		_, err := Handshake(ctx, a, senderConfig())
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("got %v, want context.DeadlineExceeded", err)
		}
	})
	t.Run("closer", func(t *testing.T) {
		pr, pw := io.Pipe()
		rw := &pipeRW{r: pr, w: io.Discard, close: func() { pr.Close(); pw.Close() }}
		defer rw.Close()
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(20*time.Millisecond, cancel)
		_, err := Handshake(ctx, rw, receiverConfig())
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("got %v, want context.Canceled", err)
		}
	})
	t.Run("already done", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		var buf bytes.Buffer
		if _, err := Handshake(ctx, &buf, senderConfig()); !errors.Is(err, context.Canceled) {
			t.Fatalf("got %v, want context.Canceled", err)
		}
	})
}

type pipeRW struct {
	r     io.Reader
	w     io.Writer
	close func()
	once  sync.Once
}

func (p *pipeRW) Read(b []byte) (int, error)  { return p.r.Read(b) }
func (p *pipeRW) Write(b []byte) (int, error) { return p.w.Write(b) }
func (p *pipeRW) Close() error                { p.once.Do(p.close); return nil }

func TestHandshakeRejectsJunk(t *testing.T) {
	junk := map[string][]byte{
		"http":           []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"),
		"huge frame":     {0xff, 0xff, 1, 2, 3},
		"empty frame":    {0, 0},
		"short frame":    {0, 10, 'b', 'o', 'b'},
		"other version":  append([]byte{0, 6}, 'b', 'o', 'b', 9, kindSenderHello, 0),
		"wrong kind":     append([]byte{0, 6}, 'b', 'o', 'b', 1, kindReceiverHello, 0),
		"nothing at all": nil,
	}
	for name, in := range junk {
		for _, role := range []Role{Sender, Receiver} {
			t.Run(name+"/"+role.String(), func(t *testing.T) {
				cfg := senderConfig()
				cfg.Role = role
				rw := &pipeRW{r: bytes.NewReader(in), w: io.Discard}
				c, err := Handshake(context.Background(), rw, cfg)
				if err == nil {
					c.Close()
					t.Fatal("handshake succeeded on junk")
				}
				if errors.Is(err, ErrWrongCode) {
					t.Fatalf("junk reported as a wrong code: %v", err)
				}
			})
		}
	}
}

// openFDs counts this process's open file descriptors, or -1 where /proc is
// missing.
func openFDs() int {
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return -1
	}
	return len(entries)
}

func TestNoDescriptorLeak(t *testing.T) {
	// Warm up: the runtime's network poller keeps descriptors of its own.
	a, b := tcpPair(t)
	a.Close()
	b.Close()
	before := openFDs()
	if before < 0 {
		t.Skip("no /proc/self/fd on this system")
	}
	for i := range 5 {
		func() {
			a, b := tcpPair(t)
			defer a.Close()
			defer b.Close()
			rc := receiverConfig()
			if i%2 == 1 {
				rc.Code = "7-wrong-code"
			}
			s, r := handshakePair(t, a, b, senderConfig(), rc)
			if s.err == nil && r.err == nil {
				exchange(t, s.conn, r.conn, []byte("ping"), []byte("pong"))
				s.conn.Close()
				r.conn.Close()
			}
		}()
	}
	if after := openFDs(); after != before {
		t.Fatalf("%d descriptors open before, %d after", before, after)
	}
}
