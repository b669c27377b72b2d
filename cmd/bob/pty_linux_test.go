//go:build linux

package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// openPTY returns a pseudo-terminal's controller and terminal ends.
func openPTY(t *testing.T) (controller, terminal *os.File) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals here: %v", err)
	}
	t.Cleanup(func() { m.Close() })
	if err := unix.IoctlSetPointerInt(int(m.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(int(m.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	s, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return m, s
}

// A peer's raw bytes do not go to a terminal unless asked for.
func TestStdoutTerminalRefused(t *testing.T) {
	_, tty := openPTY(t)
	var stderr strings.Builder
	e := &env{stdin: strings.NewReader(""), stdout: tty, stderr: &stderr, getenv: func(string) string { return "" }}
	root := newRootCmd(e)
	root.SetArgs([]string{"recv", "--plain", "--yes", "-o", "-", "--relay", "127.0.0.1:1", "7-guitarist-revenge"})
	err := root.ExecuteContext(context.Background())
	if exitCode(err) != exitUsage || !strings.Contains(err.Error(), "only with a pipe or a file") {
		t.Errorf("got %v", err)
	}
}
