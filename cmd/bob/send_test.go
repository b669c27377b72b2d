package main

import (
	"errors"
	"strings"
	"testing"
)

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

// A mistyped code at the prompt is explained and asked again.
func TestAskCodeAsksAgain(t *testing.T) {
	entries := []string{"not a code", "7", "7-guitarist-revenge"}
	var warn strings.Builder
	code, err := askCode(func() (string, error) {
		e := entries[0]
		entries = entries[1:]
		return e, nil
	}, &warn)
	if err != nil || code.String() != "7-guitarist-revenge" {
		t.Fatalf("got %v, %v", code, err)
	}
	if n := strings.Count(warn.String(), "try again"); n != 2 {
		t.Errorf("%d warnings:\n%s", n, warn.String())
	}
	_, err = askCode(func() (string, error) { return "nope", nil }, &warn)
	var ue usageError
	if !errors.As(err, &ue) {
		t.Errorf("after %d bad entries: %v, want a usage error", maxCodeTries, err)
	}
}
