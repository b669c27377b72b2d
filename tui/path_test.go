package tui

import (
	"bytes"
	"strings"
	"testing"

	"github.com/bob-p2p/bob/transfer"
)

// Every view says which way the data went, and a sender that relies on the
// local network also shows the way in from another network.
func TestViewsShowThePath(t *testing.T) {
	code := transfer.CodeReady{Code: "7-guitarist-revenge", Hints: []string{"[2001:db8::7]:9009", "192.0.2.7:9009"}}
	direct := transfer.PathChosen{Direct: true, Peer: "192.0.2.8:41000"}
	done := transfer.Done{Files: 1, Bytes: 10, Via: "direct"}

	var plain bytes.Buffer
	opts := testOptions(Sending)
	opts.Out = &plain
	opts.ReceiveCommand = func(string) string { return "bob recv" }
	v := NewPlain(opts)
	for _, e := range []transfer.Event{code, direct, done} {
		v.Event(e)
	}
	v.Close(nil)
	for _, want := range []string{
		"on the other machine run: bob recv (then type the code)\n",
		"from another network: bob recv --relay '[2001:db8::7]:9009'\n",
		"connected directly to the other side (192.0.2.8:41000)\n",
		", direct",
	} {
		if !strings.Contains(plain.String(), want) {
			t.Errorf("plain output lacks %q:\n%s", want, plain.String())
		}
	}

	var js bytes.Buffer
	opts.Out = &js
	j := NewJSON(&js, opts)
	j.Event(transfer.PathChosen{Relay: "192.0.2.1:9009"})
	j.Event(transfer.Done{Files: 1, Bytes: 10, Via: "relay", Relay: "192.0.2.1:9009"})
	j.Close(nil)
	objs := decodeLines(t, js.Bytes())
	if len(objs) < 2 || objs[0]["event"] != "path" || objs[0]["via"] != "relay" || objs[0]["relay"] != "192.0.2.1:9009" {
		t.Errorf("path event: %v", objs)
	}
	if objs[1]["event"] != "done" || objs[1]["via"] != "relay" || objs[1]["relay"] != "192.0.2.1:9009" {
		t.Errorf("done event: %v", objs[1])
	}
}

func TestViaText(t *testing.T) {
	for _, c := range []struct{ via, relay, want string }{
		{"", "", ""},
		{"direct", "", "direct"},
		{"relay", "192.0.2.1:9009", "via relay 192.0.2.1:9009"},
		{"relay", "", "via the relay"},
		{"relay", "evil\x1b[2J", `via relay evil\x1b[2J`},
	} {
		if got := viaText(c.via, c.relay); got != c.want {
			t.Errorf("viaText(%q, %q) = %q, want %q", c.via, c.relay, got, c.want)
		}
	}
}

// A receiver that looks for its sender on the network, then connects,
// shows the look as done and one current step.
func TestWaitScreenLookingThenConnecting(t *testing.T) {
	var s waitScreen
	s = s.connecting("")
	s = s.connecting("192.0.2.7:9009")
	if len(s.steps) != 2 || !s.steps[0].done || s.steps[0].did != "looked for the sender on this network" || s.steps[1].done {
		t.Errorf("steps %+v", s.steps)
	}
}

// A relay on a loopback address reaches this machine only: the sender is
// not told to run the command on another machine (issue 16 item 13).
func TestLoopbackRelayCommandIsForThisMachine(t *testing.T) {
	const here = "this machine (the relay is on loopback)"
	for _, relay := range []string{"127.0.0.1:9009", "[::1]:9009", "127.1.2.3:40000", "localhost:9009"} {
		code := transfer.CodeReady{Code: "7-guitarist-revenge", Relay: relay}
		cmd := "bob recv --relay " + relay

		var plain bytes.Buffer
		opts := testOptions(Sending)
		opts.Out = &plain
		opts.ReceiveCommand = func(string) string { return cmd }
		v := NewPlain(opts)
		v.Event(code)
		v.Close(nil)
		if want := "on " + here + " run: " + cmd + " (then type the code)\n"; !strings.Contains(plain.String(), want) {
			t.Errorf("relay %s: plain output lacks %q:\n%s", relay, want, plain.String())
		}

		tm := startModel(t, opts, 80, 24)
		sendAll(tm, code)
		_, view := stopModel(t, tm)
		if !strings.Contains(view, "On "+here+" run:") || strings.Contains(view, "other machine") {
			t.Errorf("relay %s: the view does not say the command works on this machine only:\n%s", relay, view)
		}
	}
	for _, relay := range []string{"192.168.1.20:9009", "[2001:db8::1]:9009", "relay.example:9009", "127.example:9009"} {
		if got := runWhere(transfer.CodeReady{Relay: relay}); got != "the other machine" {
			t.Errorf("relay %s: run on %q, want the other machine", relay, got)
		}
	}
}
