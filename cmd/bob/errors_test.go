package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"

	"github.com/bob-p2p/bob/session"
	"github.com/bob-p2p/bob/transfer"
	"github.com/bob-p2p/bob/tui"
)

// An interrupted receive says what it kept and how to resume, whatever the
// reason it ended, and keeps the exit code of that reason.
func TestDescribePartialReceive(t *testing.T) {
	for _, c := range []struct {
		err  error
		want string
		code int
	}{
		{context.Canceled, "cancelled; 1.2 MB received so far stay in /home/ada/in as .bob-part files", exitCancelled},
		{fmt.Errorf("%w: link lost", transfer.ErrPeerFailed), "link lost; 1.2 MB received so far", exitFailure},
	} {
		err := &transfer.PartialError{Err: c.err, Kept: 1_200_000, Dir: "/home/ada/in"}
		if got := describe(err); !strings.Contains(got, c.want) || !strings.HasSuffix(got, "receive the same files into that folder again to resume") {
			t.Errorf("describe(%v) = %q, want it to contain %q and end with how to resume", c.err, got, c.want)
		}
		if got := exitCode(err); got != c.code {
			t.Errorf("exitCode(%v) = %d, want %d", c.err, got, c.code)
		}
	}
}

// A peer that vanished mid-transfer reads as that, not as a system call.
func TestDescribeLostPeer(t *testing.T) {
	err := fmt.Errorf("secure: write: %w", &os.SyscallError{Syscall: "write", Err: syscall.EPIPE})
	if got := describe(err); got != "the other side went away (connection lost)" {
		t.Errorf("describe = %q", got)
	}
	if got := describe(&transfer.PartialError{Err: err, Kept: 1000, Dir: "in"}); !strings.HasPrefix(got, "the other side went away (connection lost); ") {
		t.Errorf("describe partial = %q", got)
	}
}

// The library's errors name no flags and count in bytes; describe adds the
// flag a person can use and shows sizes in SI units, as the offer does
// (issue 17 item 2, issue 16 item 17).
func TestDescribeHints(t *testing.T) {
	for _, c := range []struct {
		err  error
		want string
	}{
		{&transfer.ExistsError{Names: []string{"a.txt", "b.txt"}},
			"files already exist: the output folder already has 2 files of the same name (a.txt, b.txt); nothing was written (--overwrite replaces them)"},
		{&transfer.PartialError{Err: &transfer.ExistsError{Names: []string{"a.txt"}}, Kept: 5, Dir: "in"},
			"files already exist: the output folder already has a file of the same name (a.txt); nothing was written (--overwrite replaces them); 5 B received so far"},
		{&transfer.NoSpaceError{Dir: "/in", Need: 20 << 20, Free: 5 << 20},
			"not enough free space: the files need 21 MB but only 5.2 MB are free in /in"},
		{&transfer.NoSpaceError{Dir: "/in", Free: 262144000, Stream: "bomb.bin", After: 10444800, Reserve: 256 << 20},
			`not enough free space: stopped receiving "bomb.bin" after 10 MB, with 262 MB free in /in: bob keeps 268 MB free when it receives a stream`},
		{fmt.Errorf("accept: %w", tui.ErrNeedYes),
			"cannot ask whether to accept the offer in --json mode: run again with --yes to accept it"},
		{tui.ErrNoAnswer,
			"no answer to the accept prompt (input ended): run again with --yes to accept without asking"},
		{&session.PasswordError{Addr: "relay.example:9009"},
			"the relay relay.example:9009 needs a password: set it with --relay-password or BOB_RELAY_PASSWORD"},
		{&session.PasswordError{Addr: "relay.example:9009", Given: true},
			"the relay relay.example:9009 refused the password: set the right one with --relay-password or BOB_RELAY_PASSWORD"},
	} {
		if got := describe(c.err); !strings.HasPrefix(got, c.want) {
			t.Errorf("describe(%v)\n got %s\nwant %s", c.err, got, c.want)
		}
		for _, flag := range []string{"--overwrite", "--yes", "--json", "--relay-password"} {
			if strings.Contains(c.err.Error(), flag) {
				t.Errorf("the library's error names %s: %v", flag, c.err)
			}
		}
	}
}
