package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"

	"github.com/bob-p2p/bob/transfer"
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
