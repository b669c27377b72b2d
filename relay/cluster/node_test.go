package cluster

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
)

var secret = []byte("0123456789abcdef0123")

func TestNodeHelloRoundTrip(t *testing.T) {
	ch, err := newChallenge()
	if err != nil {
		t.Fatal(err)
	}
	b := appendNodeHello(nil, secret, ch, "42")
	r := bytes.NewReader(append(b, "after"...))
	np, err := readNodeHello(r, secret, ch)
	if err != nil || np != "42" {
		t.Fatalf("readNodeHello = %q, %v; want 42", np, err)
	}
	if rest, _ := io.ReadAll(r); string(rest) != "after" {
		t.Fatalf("read past the hello: %q left", rest)
	}
}

// TestNodeHelloRefusesOthers: only a node with the secret, answering this
// very challenge, gets a receiver served.
func TestNodeHelloRefusesOthers(t *testing.T) {
	ch, _ := newChallenge()
	other, _ := newChallenge()
	for name, b := range map[string][]byte{
		"wrong secret":    appendNodeHello(nil, []byte("another secret of the same len"), ch, "42"),
		"replayed":        appendNodeHello(nil, secret, other, "42"),
		"not a nameplate": appendNodeHello(nil, secret, ch, "4x"),
		"too long":        appendNodeHello(nil, secret, ch, "123456789"),
		"bad magic":       append([]byte("BOBX"), appendNodeHello(nil, secret, ch, "42")[4:]...),
	} {
		if _, err := readNodeHello(bytes.NewReader(b), secret, ch); !errors.Is(err, errBadNodeHello) {
			t.Errorf("%s: %v, want errBadNodeHello", name, err)
		}
	}
	good := appendNodeHello(nil, secret, ch, "42")
	if _, err := readNodeHello(bytes.NewReader(good[:len(good)-1]), secret, ch); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("cut short: %v, want io.ErrUnexpectedEOF", err)
	}
}

// FuzzReadNodeHello: arbitrary bytes on the node port never panic, never
// read past one hello, and never pass without the secret.
func FuzzReadNodeHello(f *testing.F) {
	var ch [challengeLen]byte
	f.Add(appendNodeHello(nil, secret, ch, "7"))
	f.Add([]byte("BOBN\x01\xff"))
	f.Add([]byte("BOBN\x01\x02"))
	f.Fuzz(func(t *testing.T, data []byte) {
		r := bytes.NewReader(data)
		np, err := readNodeHello(r, secret, ch)
		if err != nil {
			return
		}
		used := len(data) - r.Len()
		if want := appendNodeHello(nil, secret, ch, np); !bytes.Equal(data[:used], want) {
			t.Fatalf("accepted %q, which is not the hello for %q", data[:used], np)
		}
	})
}

// TestFuzzCorpusIsCommitted keeps the seed corpus in testdata/ in step.
func TestFuzzCorpusIsCommitted(t *testing.T) {
	ents, err := os.ReadDir(filepath.Join("testdata", "fuzz", "FuzzReadNodeHello"))
	if err != nil || len(ents) == 0 {
		t.Fatalf("no committed corpus for FuzzReadNodeHello: %v", err)
	}
}
