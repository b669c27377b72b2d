package discovery

import (
	"net"
	"net/netip"
	"strings"
	"testing"

	"github.com/hashicorp/mdns"
)

func entry(port int, v4 string, txt ...string) *mdns.ServiceEntry {
	return &mdns.ServiceEntry{Name: "bob-0123456789abcdef._bob._tcp.local.", Port: port, AddrV4: net.ParseIP(v4), InfoFields: txt}
}

func TestParseEntry(t *testing.T) {
	s, ok := parseEntry(entry(9009, "192.0.2.7", "v=1", "n=42", "s=00ff"))
	if !ok || s.Nameplate != "42" || s.Relay != "" || len(s.Addrs) != 1 || s.Addrs[0] != netip.MustParseAddrPort("192.0.2.7:9009") {
		t.Errorf("built-in relay: %+v, %v", s, ok)
	}
	s, ok = parseEntry(entry(9009, "192.0.2.7", "v=1", "n=42", "s=00ff", "r=relay.example.org:9009"))
	if !ok || s.Relay != "relay.example.org:9009" {
		t.Errorf("configured relay: %+v, %v", s, ok)
	}
}

// A stranger's answer that is not a well-formed announcement of this
// version is ignored, whatever it holds.
func TestParseEntryRejects(t *testing.T) {
	for name, e := range map[string]*mdns.ServiceEntry{
		"nil":               nil,
		"no port":           entry(0, "192.0.2.7", "v=1", "n=42", "s=00ff"),
		"other version":     entry(9009, "192.0.2.7", "v=2", "n=42", "s=00ff"),
		"no version":        entry(9009, "192.0.2.7", "n=42", "s=00ff"),
		"nameplate letters": entry(9009, "192.0.2.7", "v=1", "n=4a", "s=00ff"),
		"nameplate long":    entry(9009, "192.0.2.7", "v=1", "n=123456789", "s=00ff"),
		"escape nameplate":  entry(9009, "192.0.2.7", "v=1", "n=\x1b[2J", "s=00ff"),
		"no token":          entry(9009, "192.0.2.7", "v=1", "n=42"),
		"duplicate key":     entry(9009, "192.0.2.7", "v=1", "n=42", "n=43", "s=00ff"),
		"field without =":   entry(9009, "192.0.2.7", "v=1", "n=42", "s=00ff", "junk"),
		"too many fields":   entry(9009, "192.0.2.7", "v=1", "n=42", "s=00ff", "a=", "b=", "c=", "d=", "e=", "f="),
		"bad relay":         entry(9009, "192.0.2.7", "v=1", "n=42", "s=00ff", "r=no port"),
		"loopback address":  entry(9009, "127.0.0.1", "v=1", "n=42", "s=00ff"),
		"no address":        entry(9009, "", "v=1", "n=42", "s=00ff"),
		"multicast address": entry(9009, "224.0.0.251", "v=1", "n=42", "s=00ff"),
	} {
		if s, ok := parseEntry(e); ok {
			t.Errorf("%s: accepted %+v", name, s)
		}
	}
}

func TestRandomLabelSaysNothing(t *testing.T) {
	a, err := randomLabel()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := randomLabel()
	if a == b || !strings.HasPrefix(a, "bob-") || len(a) != len("bob-")+16 {
		t.Errorf("labels %q, %q", a, b)
	}
}

func FuzzParseEntry(f *testing.F) {
	f.Add(9009, "v=1|n=42|s=00ff|r=relay.example.org:9009")
	f.Add(1, "v=1|n=1|s=a")
	f.Fuzz(func(t *testing.T, port int, txt string) {
		s, ok := parseEntry(entry(port, "192.0.2.7", strings.Split(txt, "|")...))
		if !ok {
			return
		}
		if !validNameplate(s.Nameplate) || s.token == "" || (s.Relay == "" && len(s.Addrs) == 0) {
			t.Fatalf("accepted %+v", s)
		}
		for _, a := range s.Addrs {
			if a.Port() == 0 || a.Addr().IsLoopback() {
				t.Fatalf("accepted address %v", a)
			}
		}
	})
}
