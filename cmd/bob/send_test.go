package main

import "testing"

// The receive instruction is one line that pastes into any shell: an IPv6
// literal's brackets are quoted (zsh takes them for a glob pattern), and
// the code is never part of it.
func TestReceiveCommandPastes(t *testing.T) {
	for _, c := range []struct{ relay, want string }{
		{"", "bob recv"},
		{"192.0.2.7:9009", "bob recv --relay 192.0.2.7:9009"},
		{"relay.example.org:9009", "bob recv --relay relay.example.org:9009"},
		{"[2001:db8::2]:9009", "bob recv --relay '[2001:db8::2]:9009'"},
		{"a'b:1", `bob recv --relay 'a'\''b:1'`},
	} {
		relay := c.relay
		if got := receiveCommand(&relay); got != c.want {
			t.Errorf("receiveCommand(%q) = %q, want %q", c.relay, got, c.want)
		}
	}
	if got := receiveCommand(nil); got != "bob recv" {
		t.Errorf("receiveCommand(nil) = %q", got)
	}
}
