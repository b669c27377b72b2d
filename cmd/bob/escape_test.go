package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bob-p2p/bob/transfer"
	"github.com/bob-p2p/bob/tui"
)

// memChan is one end of an in-memory transfer.Channel pair.
type memChan struct {
	in, out chan memRecord
}

type memRecord struct {
	typ byte
	p   []byte
}

func memPair() (*memChan, *memChan) {
	a, b := make(chan memRecord, 64), make(chan memRecord, 64)
	return &memChan{in: a, out: b}, &memChan{in: b, out: a}
}

func (c *memChan) WriteRecord(typ byte, p []byte) error {
	c.out <- memRecord{typ, bytes.Clone(p)}
	return nil
}

func (c *memChan) ReadRecord() (byte, []byte, error) {
	r, ok := <-c.in
	if !ok {
		return 0, nil, io.EOF
	}
	return r.typ, r.p, nil
}

func (c *memChan) CloseWrite() error {
	close(c.out)
	return nil
}

// TestErrorsEscapedOnce feeds a name with control characters through the
// library's error paths (a source that cannot be read, a file that exists
// in the output folder, the sender told so by the receiver, part files
// kept) to every place an error reaches the screen: the plain, JSON and
// TUI views and bob's own final line and JSON error event. Each shows the
// name escaped exactly once (issue 17 item 1): as \n and \x1b, never raw
// and never \\n.
func TestErrorsEscapedOnce(t *testing.T) {
	const name = "new\nline\x1b[31m"
	const once = `new\nline\x1b[31m`
	src, out := t.TempDir(), t.TempDir()
	for dir, content := range map[string]string{src: "offered", out: "already here"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Skipf("this file system does not take the name: %v", err)
		}
	}

	cases := map[string]error{}
	_, cases["source"] = transfer.CheckSources(transfer.SendOptions{Paths: []string{filepath.Join(src, "missing "+name)}})
	a, b := memPair()
	sent := make(chan error, 1)
	go func() {
		sent <- transfer.Send(context.Background(), a, transfer.SendOptions{Paths: []string{filepath.Join(src, name)}}, nil)
	}()
	cases["exists"] = transfer.Receive(context.Background(), b, transfer.ReceiveOptions{OutDir: out}, nil)
	cases["told the sender"] = <-sent
	cases["part files"] = &transfer.PartialError{Err: errors.New("connection lost"), Kept: 10, Dir: filepath.Join(out, name)}

	for what, err := range cases {
		if err == nil {
			t.Fatalf("%s: no error", what)
		}
		wantName := what != "told the sender" // the receiver's names stay with the receiver
		shown := map[string]string{}

		var plain bytes.Buffer
		tui.NewPlain(tui.Options{Out: &plain, Describe: describe}).Close(err)
		shown["plain"] = plain.String()

		var js bytes.Buffer
		tui.NewJSON(&js, tui.Options{Describe: describe}).Close(err)
		shown["json"] = jsonMessage(t, js.Bytes())

		var term bytes.Buffer
		tui.NewTUI(tui.Options{Out: &term, Describe: describe}).Close(err)
		shown["tui"] = term.String()

		var final bytes.Buffer
		reportError(&final, nil, err)
		shown["final line"] = final.String()

		var event bytes.Buffer
		reportError(io.Discard, &event, err)
		shown["json error event"] = jsonMessage(t, event.Bytes())

		for view, s := range shown {
			if s == "" {
				t.Errorf("%s error in %s: nothing shown", what, view)
			}
			if strings.Contains(s, "\x1b[31m") || strings.Contains(s, "new\nline") {
				t.Errorf("%s error in %s: name shown raw: %q", what, view, s)
			}
			if strings.Contains(s, `\\`) {
				t.Errorf("%s error in %s: escaped twice: %s", what, view, s)
			}
			if wantName && !strings.Contains(s, once) {
				t.Errorf("%s error in %s: want the name as %s, got %s", what, view, once, s)
			}
		}
	}
}

// jsonMessage is the message of the JSON error event in b.
func jsonMessage(t *testing.T, b []byte) string {
	t.Helper()
	for line := range bytes.Lines(b) {
		var ev struct{ Event, Message string }
		if json.Unmarshal(line, &ev) == nil && ev.Event == "error" {
			return ev.Message
		}
	}
	t.Fatalf("no error event in %s", b)
	return ""
}
