//go:build linux

package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bob-p2p/bob/internal/relaytest"
)

// TestClashOnTerminal: a receiver on a terminal is shown the offer with the
// file that exists marked and asked what to do; "k" keeps both (issue 16,
// item 9). Without a terminal the same offer is refused (exists.txtar).
func TestClashOnTerminal(t *testing.T) {
	controller, tty := openPTY(t)
	addr := relaytest.Start(t)
	dir := t.TempDir()
	src, out := filepath.Join(dir, "report.txt"), filepath.Join(dir, "out")
	if err := os.WriteFile(src, []byte("new report"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(out, "report.txt"), []byte("mine"), 0o644); err != nil {
		t.Fatal(err)
	}
	getenv := func(k string) string {
		if k == "XDG_CONFIG_HOME" {
			return dir
		}
		if k == "BOB_NO_DISCOVERY" {
			return "1"
		}
		return ""
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var sendOut, sendErr lockedBuffer
	sent := make(chan error, 1)
	go func() {
		root := newRootCmd(&env{stdin: strings.NewReader(""), stdout: &sendOut, stderr: &sendErr, getenv: getenv})
		root.SetArgs([]string{"send", "--plain", "--relay", addr, "--code", "9-keep-both-please", src})
		sent <- root.ExecuteContext(ctx)
	}()
	for !strings.Contains(sendOut.String()+sendErr.String(), "waiting for the receiver") {
		select {
		case err := <-sent:
			t.Fatalf("the sender ended: %v\n%s%s", err, sendOut.String(), sendErr.String())
		case <-time.After(10 * time.Millisecond):
		}
	}
	if _, err := controller.Write([]byte("k\n")); err != nil {
		t.Fatal(err)
	}
	var recvOut, recvErr lockedBuffer
	root := newRootCmd(&env{stdin: tty, stdout: &recvOut, stderr: &recvErr, getenv: getenv})
	root.SetArgs([]string{"recv", "--plain", "--relay", addr, "--out", out, "9-keep-both-please"})
	if err := root.ExecuteContext(ctx); err != nil {
		t.Fatalf("recv: %v\n%s%s", err, recvOut.String(), recvErr.String())
	}
	if err := <-sent; err != nil {
		t.Fatalf("send: %v", err)
	}
	for _, want := range []string{"  report.txt (10 B)  ! a file of this name is here\n", "[o]verwrite, [k]eep both, [s]kip those, or [c]ancel?"} {
		if !strings.Contains(recvOut.String(), want) {
			t.Errorf("the receiver's offer lacks %q:\n%s", want, recvOut.String())
		}
	}
	for name, want := range map[string]string{"report.txt": "mine", "report (1).txt": "new report"} {
		if b, err := os.ReadFile(filepath.Join(out, name)); err != nil || string(b) != want {
			t.Errorf("%s = %q, %v; want %q", name, b, err, want)
		}
	}
}
