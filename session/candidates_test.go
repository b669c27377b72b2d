package session

import (
	"bytes"
	"net"
	"net/netip"
	"strconv"
	"testing"

	"github.com/bob-p2p/bob/relay/rendezvous"
)

func TestCandidatesRoundTrip(t *testing.T) {
	in := []candidate{
		{kindLocal, netip.MustParseAddrPort("192.0.2.7:4242")},
		{kindReflexive, netip.MustParseAddrPort("[2001:db8::1]:9")},
		{kindLocal, netip.MustParseAddrPort("10.0.0.1:65535")},
	}
	c, err := decodeCandidates(encodeCandidates(candidates{relayLoopback: true, addrs: in}))
	if err != nil {
		t.Fatal(err)
	}
	out := c.addrs
	if !c.relayLoopback {
		t.Error("the loopback flag was lost")
	}
	if len(out) != len(in) {
		t.Fatalf("got %v", out)
	}
	for i := range in {
		if out[i] != in[i] {
			t.Errorf("candidate %d: got %v, want %v", i, out[i], in[i])
		}
	}
}

func TestCandidatesRejectMalformed(t *testing.T) {
	good := encodeCandidates(candidates{addrs: []candidate{{kindLocal, netip.MustParseAddrPort("192.0.2.7:4242")}}})
	for name, b := range map[string][]byte{
		"empty":          nil,
		"version":        {9, 0, 0},
		"unknown flag":   {candidatesVersion, 2, 0},
		"too many":       {candidatesVersion, 0, maxCandidates + 1},
		"short":          good[:len(good)-1],
		"trailing":       append(bytes.Clone(good), 0),
		"length 5":       {candidatesVersion, 0, 1, kindLocal, 5, 1, 2, 3, 4, 5, 0, 1},
		"port 0":         {candidatesVersion, 0, 1, kindLocal, 4, 192, 0, 2, 1, 0, 0},
		"count too high": {candidatesVersion, 0, 2, kindLocal, 4, 192, 0, 2, 1, 0, 1},
		"unknown kind":   {candidatesVersion, 0, 1, 7, 4, 192, 0, 2, 1, 0, 1},
	} {
		if _, err := decodeCandidates(b); err == nil {
			t.Errorf("%s: accepted %x", name, b)
		}
	}
}

func TestDialableKeepsHostileAddressesOut(t *testing.T) {
	var all []candidate
	for _, a := range []string{"127.0.0.1:22", "[::1]:22", "0.0.0.0:80", "224.0.0.251:5353", "[fe80::1]:80", "192.0.2.7:4242"} {
		all = append(all, candidate{kindLocal, netip.MustParseAddrPort(a)})
	}
	got := dialable(all, false)
	if len(got) != 1 || got[0] != all[5] {
		t.Errorf("another machine's peer: dialable %v", got)
	}
	got = dialable(all, true)
	if len(got) != 3 || got[0] != all[0] || got[1] != all[1] {
		t.Errorf("loopback allowed (tests): dialable %v", got)
	}
}

func FuzzDecodeCandidates(f *testing.F) {
	f.Add(encodeCandidates(candidates{addrs: []candidate{{kindLocal, netip.MustParseAddrPort("192.0.2.7:4242")}, {kindReflexive, netip.MustParseAddrPort("[2001:db8::1]:9")}}}))
	f.Add([]byte{candidatesVersion, flagRelayLoopback, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := decodeCandidates(b)
		if err != nil {
			return
		}
		if len(c.addrs) > maxCandidates {
			t.Fatalf("%d candidates", len(c.addrs))
		}
		again, err := decodeCandidates(encodeCandidates(c))
		if err != nil || len(again.addrs) != len(c.addrs) || again.relayLoopback != c.relayLoopback {
			t.Fatalf("re-encoding: %v, %v", again, err)
		}
	})
}

// The built-in relay's address a receiver tries is the rendezvous port.
func TestDefaultLocalRelayIsTheDefaultPort(t *testing.T) {
	if want := net.JoinHostPort("127.0.0.1", strconv.Itoa(rendezvous.DefaultPort)); DefaultLocalRelay != want {
		t.Fatalf("DefaultLocalRelay = %q, want %q", DefaultLocalRelay, want)
	}
}
