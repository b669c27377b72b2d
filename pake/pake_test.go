package pake

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var testBinding = Binding{Nameplate: "7", SessionID: [16]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}}

// run performs a full exchange and returns both keys.
func run(t testing.TB, senderCode, receiverCode string, sb, rb Binding) (sk, rk [32]byte) {
	t.Helper()
	s, first, err := Start(senderCode, Sender, sb)
	if err != nil {
		t.Fatal(err)
	}
	r, none, err := Start(receiverCode, Receiver, rb)
	if err != nil {
		t.Fatal(err)
	}
	if none != nil || r.Message() != nil {
		t.Fatalf("receiver has a message before hearing the sender: %q", none)
	}
	rk, err = r.Finish(first)
	if err != nil {
		t.Fatalf("receiver Finish: %v", err)
	}
	reply := r.Message()
	if reply == nil {
		t.Fatal("receiver has no reply after Finish")
	}
	sk, err = s.Finish(reply)
	if err != nil {
		t.Fatalf("sender Finish: %v", err)
	}
	return sk, rk
}

func TestSameCodeSameKey(t *testing.T) {
	sk, rk := run(t, "7-guitarist-revenge", "7-guitarist-revenge", testBinding, testBinding)
	if sk != rk {
		t.Fatal("same code gave different keys")
	}
	if sk == ([32]byte{}) {
		t.Fatal("zero key")
	}
	// A second session with the same code gives a fresh key.
	sk2, rk2 := run(t, "7-guitarist-revenge", "7-guitarist-revenge", testBinding, testBinding)
	if sk2 != rk2 || sk2 == sk {
		t.Fatal("second session: keys must match each other and differ from the first session")
	}
}

func TestDifferentCodeDifferentKeys(t *testing.T) {
	sk, rk := run(t, "7-guitarist-revenge", "7-guitarist-revenue", testBinding, testBinding)
	if sk == rk {
		t.Fatal("different codes gave the same key")
	}
}

func TestKeyDependsOnBinding(t *testing.T) {
	other := testBinding
	other.Nameplate = "8"
	if sk, rk := run(t, "7-a-b", "7-a-b", testBinding, other); sk == rk {
		t.Error("keys match across different nameplates")
	}
	other = testBinding
	other.SessionID[15] ^= 1
	if sk, rk := run(t, "7-a-b", "7-a-b", testBinding, other); sk == rk {
		t.Error("keys match across different session ids")
	}
}

func TestNormalize(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"7-guitarist-revenge", "7-guitarist-revenge"},
		{"  7-Guitarist-REVENGE\n", "7-guitarist-revenge"},
		{"\t7-cafe\u0301 ", "7-caf\u00e9"},
		{"7-CAFÉ", "7-caf\u00e9"},
	} {
		if got := Normalize(tc.in); got != tc.want {
			t.Errorf("Normalize(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	// Codes typed differently but normalising alike agree on the key.
	sk, rk := run(t, " 7-Café-Noir", "7-cafe\u0301-noir\n", testBinding, testBinding)
	if sk != rk {
		t.Fatal("normalised codes gave different keys")
	}
}

func TestStartRejects(t *testing.T) {
	if _, _, err := Start("   ", Sender, testBinding); err == nil {
		t.Error("empty code accepted")
	}
	if _, _, err := Start("7-a-b", Role(2), testBinding); err == nil {
		t.Error("invalid role accepted")
	}
	if _, _, err := Start("7-a-b", Sender, Binding{Nameplate: strings.Repeat("9", 256)}); err == nil {
		t.Error("huge nameplate accepted")
	}
}

func TestFinishTwiceIsReplay(t *testing.T) {
	s, first, _ := Start("7-a-b", Sender, testBinding)
	r, _, _ := Start("7-a-b", Receiver, testBinding)
	if _, err := r.Finish(first); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Finish(first); !errors.Is(err, ErrReplayed) {
		t.Fatalf("second Finish on receiver: %v, want ErrReplayed", err)
	}
	reply := r.Message()
	if _, err := s.Finish(reply); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Finish(reply); !errors.Is(err, ErrReplayed) {
		t.Fatalf("second Finish on sender: %v, want ErrReplayed", err)
	}
}

func TestReplayFromEarlierSessionGivesOtherKey(t *testing.T) {
	// The relay records a sender message and replays it to a receiver in a
	// later session: the receiver's key does not match the real sender's.
	_, oldFirst, _ := Start("7-a-b", Sender, testBinding)
	s, _, _ := Start("7-a-b", Sender, testBinding)
	r, _, _ := Start("7-a-b", Receiver, testBinding)
	rk, err := r.Finish(oldFirst)
	if err != nil {
		t.Fatal(err)
	}
	sk, err := s.Finish(r.Message())
	if err != nil {
		t.Fatal(err)
	}
	if sk == rk {
		t.Fatal("replayed message gave matching keys")
	}
}

func mustMarshal(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestBadPeerMessages(t *testing.T) {
	_, first, err := Start("7-a-b", Sender, testBinding)
	if err != nil {
		t.Fatal(err)
	}
	r, _, _ := Start("7-a-b", Receiver, testBinding)
	if _, err := r.Finish(first); err != nil {
		t.Fatal(err)
	}
	reply := r.Message()

	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(first))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		t.Fatal(err)
	}
	x, y := m["Xᵤ"].(json.Number), m["Xᵥ"].(json.Number)
	// Changing the last digit of X moves the point off the curve.
	lastDigit := x[len(x)-1] - '0'
	flipped := []byte(strings.Replace(string(first), string(x), string(x[:len(x)-1])+string(rune('0'+(lastDigit+1)%10)), 1))
	// The field prime of P-256: not a valid coordinate.
	p, _ := new(big.Int).SetString("ffffffff00000001000000000000000000000000ffffffffffffffffffffffff", 16)

	forSender := []struct {
		name string
		msg  []byte
		want error
	}{
		{"empty", nil, ErrMalformed},
		{"not json", []byte("hello, receiver"), ErrMalformed},
		{"json null", []byte("null"), ErrMalformed},
		{"json array", []byte("[1,2]"), ErrMalformed},
		{"truncated", first[:len(first)/2], ErrMalformed},
		{"tampered coordinate", flipped, ErrMalformed},
		{"oversized", append(bytes.Repeat([]byte(" "), maxMessageSize), first...), ErrTooLarge},
		{"trailing data", append(append([]byte{}, first...), "{}"...), ErrMalformed},
		{"unknown field", []byte(`{"Role":0,"Xᵤ":` + string(x) + `,"Xᵥ":` + string(y) + `,"Pw":1}`), ErrMalformed},
		{"no role", []byte(`{"Xᵤ":` + string(x) + `,"Xᵥ":` + string(y) + `}`), ErrMalformed},
		{"role 7", []byte(`{"Role":7,"Xᵤ":` + string(x) + `,"Xᵥ":` + string(y) + `}`), ErrMalformed},
		{"role as string", []byte(`{"Role":"0","Xᵤ":` + string(x) + `,"Xᵥ":` + string(y) + `}`), ErrMalformed},
		{"missing coordinate", []byte(`{"Role":0,"Xᵤ":` + string(x) + `}`), ErrMalformed},
		{"null coordinate", []byte(`{"Role":0,"Xᵤ":` + string(x) + `,"Xᵥ":null}`), ErrMalformed},
		{"negative coordinate", []byte(`{"Role":0,"Xᵤ":-` + string(x) + `,"Xᵥ":` + string(y) + `}`), ErrMalformed},
		{"coordinate as string", []byte(`{"Role":0,"Xᵤ":"` + string(x) + `","Xᵥ":` + string(y) + `}`), ErrMalformed},
		{"huge coordinate", []byte(`{"Role":0,"Xᵤ":1` + strings.Repeat("0", 200) + `,"Xᵥ":` + string(y) + `}`), ErrMalformed},
		{"coordinate is p", []byte(`{"Role":0,"Xᵤ":` + p.String() + `,"Xᵥ":` + string(y) + `}`), ErrMalformed},
		{"zero point", []byte(`{"Role":0,"Xᵤ":0,"Xᵥ":0}`), ErrMalformed},
		{"both X and Y", []byte(`{"Role":0,"Xᵤ":` + string(x) + `,"Xᵥ":` + string(y) + `,"Yᵤ":` + string(x) + `,"Yᵥ":` + string(y) + `}`), ErrMalformed},
		{"receiver's own message", reply, ErrReplayed},
	}
	for _, tc := range forSender {
		t.Run("receiver gets "+tc.name, func(t *testing.T) {
			r, _, _ := Start("7-a-b", Receiver, testBinding)
			if _, err := r.Finish(tc.msg); !errors.Is(err, tc.want) {
				t.Fatalf("Finish = %v, want %v", err, tc.want)
			}
		})
	}

	t.Run("sender gets its own message back", func(t *testing.T) {
		s, own, _ := Start("7-a-b", Sender, testBinding)
		if _, err := s.Finish(own); !errors.Is(err, ErrReplayed) {
			t.Fatalf("Finish = %v, want ErrReplayed", err)
		}
	})
	t.Run("sender gets its own point as the receiver's", func(t *testing.T) {
		s, own, _ := Start("7-a-b", Sender, testBinding)
		var w wireMessage
		if err := json.Unmarshal(own, &w); err != nil {
			t.Fatal(err)
		}
		refl := mustMarshal(t, wireMessage{Role: intPtr(1), Yu: w.Xu, Yv: w.Xv})
		if _, err := s.Finish(refl); !errors.Is(err, ErrReplayed) {
			t.Fatalf("Finish = %v, want ErrReplayed", err)
		}
	})
	t.Run("sender gets another sender's message", func(t *testing.T) {
		s, _, _ := Start("7-a-b", Sender, testBinding)
		if _, err := s.Finish(first); !errors.Is(err, ErrReplayed) {
			t.Fatalf("Finish = %v, want ErrReplayed", err)
		}
	})
	t.Run("sender gets a truncated reply", func(t *testing.T) {
		s, _, _ := Start("7-a-b", Sender, testBinding)
		if _, err := s.Finish(reply[:len(reply)-3]); !errors.Is(err, ErrMalformed) {
			t.Fatalf("Finish = %v, want ErrMalformed", err)
		}
	})
}

func TestTamperedValidPointGivesOtherKey(t *testing.T) {
	// A man in the middle swaps the sender's point for another valid point
	// (the generator of P-256): no error here, but the keys differ.
	s, _, _ := Start("7-a-b", Sender, testBinding)
	r, _, _ := Start("7-a-b", Receiver, testBinding)
	gx, _ := new(big.Int).SetString("6b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296", 16)
	gy, _ := new(big.Int).SetString("4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5", 16)
	forged := mustMarshal(t, wireMessage{Role: intPtr(0), Xu: gx, Xv: gy})
	rk, err := r.Finish(forged)
	if err != nil {
		t.Fatal(err)
	}
	sk, err := s.Finish(r.Message())
	if err != nil {
		t.Fatal(err)
	}
	if sk == rk {
		t.Fatal("forged point gave matching keys")
	}
}

func TestMessagesAreSmall(t *testing.T) {
	_, first, _ := Start("7-a-b", Sender, testBinding)
	r, _, _ := Start("7-a-b", Receiver, testBinding)
	if _, err := r.Finish(first); err != nil {
		t.Fatal(err)
	}
	for _, m := range [][]byte{first, r.Message()} {
		if len(m) > maxMessageSize/2 {
			t.Errorf("message of %d bytes is close to the cap %d", len(m), maxMessageSize)
		}
	}
}

// FuzzFinish feeds arbitrary peer messages to both roles: never a panic, and
// anything accepted must be a valid message of the peer's role.
func FuzzFinish(f *testing.F) {
	_, first, _ := Start("7-a-b", Sender, testBinding)
	r, _, _ := Start("7-a-b", Receiver, testBinding)
	if _, err := r.Finish(first); err != nil {
		f.Fatal(err)
	}
	f.Add(first)
	f.Add(r.Message())
	f.Add([]byte(`{"Role":0,"Xᵤ":0,"Xᵥ":0}`))
	f.Add([]byte(`{"Role":1,"Yᵤ":null}`))
	f.Fuzz(func(t *testing.T, msg []byte) {
		for _, role := range []Role{Sender, Receiver} {
			e, _, err := Start("7-a-b", role, testBinding)
			if err != nil {
				t.Fatal(err)
			}
			key, err := e.Finish(msg)
			if err == nil {
				if len(msg) > maxMessageSize {
					t.Fatalf("oversized message accepted")
				}
				if key == ([32]byte{}) {
					t.Fatal("accepted message gave a zero key")
				}
			}
		}
	})
}

var updateCorpus = flag.Bool("update-corpus", false, "rewrite the seed corpus in testdata/fuzz")

// TestWriteSeedCorpus rewrites testdata/fuzz with -update-corpus.
func TestWriteSeedCorpus(t *testing.T) {
	if !*updateCorpus {
		t.Skip("run with -update-corpus to rewrite testdata/fuzz")
	}
	_, first, _ := Start("7-a-b", Sender, testBinding)
	r, _, _ := Start("7-a-b", Receiver, testBinding)
	if _, err := r.Finish(first); err != nil {
		t.Fatal(err)
	}
	seeds := map[string][]byte{
		"sender":       first,
		"receiver":     r.Message(),
		"not-json":     []byte("\x00\xffhello"),
		"null":         []byte("null"),
		"zero-point":   []byte(`{"Role":0,"Xᵤ":0,"Xᵥ":0}`),
		"huge-number":  []byte(`{"Role":1,"Yᵤ":1` + strings.Repeat("0", 300) + `,"Yᵥ":1}`),
		"unknown-key":  []byte(`{"Role":1,"Pw":"x"}`),
		"truncated":    first[:len(first)/2],
		"trailing-obj": append(bytes.Clone(first), "{}"...),
	}
	dir := filepath.Join("testdata", "fuzz", "FuzzFinish")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, msg := range seeds {
		body := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", msg)
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
