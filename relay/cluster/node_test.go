package cluster

import (
	"bytes"
	"errors"
	"io"
	"net/netip"
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
	for _, receiver := range []netip.AddrPort{
		netip.MustParseAddrPort("198.51.100.7:40000"),
		netip.MustParseAddrPort("[2001:db8::7]:1"),
		{}, // a receiver whose address the forwarder could not tell
	} {
		b := appendNodeHello(nil, secret, ch, "42", receiver)
		r := bytes.NewReader(append(b, "after"...))
		np, got, err := readNodeHello(r, secret, ch)
		if err != nil || np != "42" || got != receiver {
			t.Fatalf("readNodeHello = %q, %v, %v; want 42, %v", np, got, err, receiver)
		}
		if rest, _ := io.ReadAll(r); string(rest) != "after" {
			t.Fatalf("read past the hello: %q left", rest)
		}
	}
}

// TestNodeHelloSignsTheReceiver: a node port reached by someone without the
// secret cannot change the receiver's address a hello carries.
func TestNodeHelloSignsTheReceiver(t *testing.T) {
	ch, _ := newChallenge()
	b := appendNodeHello(nil, secret, ch, "42", netip.MustParseAddrPort("198.51.100.7:40000"))
	b[4+2+2+15] ^= 1 // the address's last byte
	if _, _, err := readNodeHello(bytes.NewReader(b), secret, ch); !errors.Is(err, errBadNodeHello) {
		t.Fatalf("altered address: %v, want errBadNodeHello", err)
	}
}

// TestNodeHelloRefusesOthers: only a node with the secret, answering this
// very challenge, gets a receiver served.
func TestNodeHelloRefusesOthers(t *testing.T) {
	ch, _ := newChallenge()
	other, _ := newChallenge()
	// Signed, but not the form appendNodeHello writes: no IP, a port.
	addr := make([]byte, addrLen)
	addr[addrLen-1] = 1
	zeroIPWithPort := append([]byte("BOBN\x01\x0242"), addr...)
	zeroIPWithPort = append(zeroIPWithPort, nodeMAC(secret, ch, "42", addr)...)
	for name, b := range map[string][]byte{
		"zero IP, a port": zeroIPWithPort,
		"wrong secret":    appendNodeHello(nil, []byte("another secret of the same len"), ch, "42", netip.AddrPort{}),
		"replayed":        appendNodeHello(nil, secret, other, "42", netip.AddrPort{}),
		"not a nameplate": appendNodeHello(nil, secret, ch, "4x", netip.AddrPort{}),
		"too long":        appendNodeHello(nil, secret, ch, "123456789", netip.AddrPort{}),
		"bad magic":       append([]byte("BOBX"), appendNodeHello(nil, secret, ch, "42", netip.AddrPort{})[4:]...),
	} {
		if _, _, err := readNodeHello(bytes.NewReader(b), secret, ch); !errors.Is(err, errBadNodeHello) {
			t.Errorf("%s: %v, want errBadNodeHello", name, err)
		}
	}
	good := appendNodeHello(nil, secret, ch, "42", netip.AddrPort{})
	if _, _, err := readNodeHello(bytes.NewReader(good[:len(good)-1]), secret, ch); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("cut short: %v, want io.ErrUnexpectedEOF", err)
	}
}

// FuzzReadNodeHello: arbitrary bytes on the node port never panic, never
// read past one hello, and never pass without the secret.
func FuzzReadNodeHello(f *testing.F) {
	var ch [challengeLen]byte
	f.Add(appendNodeHello(nil, secret, ch, "7", netip.MustParseAddrPort("192.0.2.1:9")))
	f.Add([]byte("BOBN\x01\xff"))
	f.Add([]byte("BOBN\x01\x02"))
	f.Fuzz(func(t *testing.T, data []byte) {
		r := bytes.NewReader(data)
		np, receiver, err := readNodeHello(r, secret, ch)
		if err != nil {
			return
		}
		used := len(data) - r.Len()
		if want := appendNodeHello(nil, secret, ch, np, receiver); !bytes.Equal(data[:used], want) {
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
