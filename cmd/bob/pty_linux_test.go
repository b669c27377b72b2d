//go:build linux

package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/bob-p2p/bob/internal/relaytest"
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

// cursorMoves matches the sequences a redrawing view writes: cursor up,
// down, to a column or position, and erasing lines or the screen.
var cursorMoves = regexp.MustCompile(`\x1b\[[0-9;?]*[ABCDEFGHJKf]`)

// With -o -, standard output carries the data and nothing else; the view is
// on the terminal, standard error (issue 16 item 4). Into a pipe, whose
// reader may print on the same terminal (bob recv -o - CODE | tar xv), the
// view is plain lines that never move the cursor over what others printed;
// into a file, the terminal view.
func TestStdoutDataViewOnTerminal(t *testing.T) {
	data := bytes.Repeat([]byte("the data and only the data\n"), 40000)
	t.Run("pipe", func(t *testing.T) {
		pr, pw, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		got := make(chan []byte, 1)
		go func() {
			b, _ := io.ReadAll(pr)
			pr.Close()
			got <- b
		}()
		shown := recvToStdout(t, data, pw)
		if out := <-got; !bytes.Equal(out, data) {
			t.Errorf("standard output has %d bytes, not the %d sent; it starts %q", len(out), len(data), out[:min(len(out), 200)])
		}
		if m := cursorMoves.Find(shown); m != nil {
			t.Errorf("the view moved the cursor (%q) on a terminal the pipe's reader may print on:\n%q", m, shown)
		}
		if !bytes.Contains(shown, []byte("received")) {
			t.Errorf("the terminal did not show the progress:\n%s", shown)
		}
	})
	t.Run("file", func(t *testing.T) {
		f, err := os.Create(filepath.Join(t.TempDir(), "data"))
		if err != nil {
			t.Fatal(err)
		}
		shown := recvToStdout(t, data, f)
		out, err := os.ReadFile(f.Name())
		if err != nil || !bytes.Equal(out, data) {
			t.Errorf("the file has %d bytes (%v), not the %d sent", len(out), err, len(data))
		}
		// The terminal view's title, which plain output does not have.
		if !bytes.Contains(shown, []byte("bob · receive")) {
			t.Errorf("the terminal did not show the view:\n%s", shown)
		}
	})
}

// recvToStdout sends data with bob send and receives it with bob recv -o -,
// its standard output stdout (closed after) and its keyboard and standard
// error a terminal; it returns what the terminal showed.
func recvToStdout(t *testing.T, data []byte, stdout *os.File) []byte {
	t.Helper()
	bob, err := exec.LookPath("bob")
	if err != nil {
		t.Fatal(err)
	}
	relayAddr := relaytest.Start(t)
	dir := t.TempDir()
	src := filepath.Join(dir, "data.txt")
	if err := os.WriteFile(src, data, 0o600); err != nil {
		t.Fatal(err)
	}
	env := append(os.Environ(), "BOB_NO_DISCOVERY=1", "BOB_RELAY=", "BOB_RELAY_PASSWORD=", "BOB_CODE=",
		"XDG_CONFIG_HOME="+filepath.Join(dir, "config"), "TERM=xterm-256color")
	const code = "8-pipe-to-tar"

	sender := exec.Command(bob, "send", "--plain", "--relay", relayAddr, "--code", code, src)
	sender.Env = env
	senderOut, err := sender.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := sender.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sender.Process.Kill(); _ = sender.Wait() })
	// The receiver starts once the sender waits for it.
	said := bufio.NewReader(senderOut)
	for {
		line, err := said.ReadString('\n')
		if err != nil {
			t.Fatalf("bob send ended before it waited for the receiver: %v", err)
		}
		if strings.HasPrefix(line, "waiting for the receiver") {
			break
		}
	}
	senderDone := make(chan []byte, 1)
	go func() {
		b, _ := io.ReadAll(said)
		senderDone <- b
	}()

	ctl, tty := openPTY(t)
	if err := unix.IoctlSetWinsize(int(tty.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: 30, Col: 100}); err != nil {
		t.Fatal(err)
	}
	screen := make(chan []byte, 1)
	go func() {
		b, _ := io.ReadAll(ctl) // ends with EIO once the terminal end is closed
		screen <- b
	}()
	recv := exec.Command(bob, "recv", "--yes", "--relay", relayAddr, "-o", "-", code)
	recv.Env, recv.Stdin, recv.Stdout, recv.Stderr = env, tty, stdout, tty
	err = recv.Run()
	stdout.Close()
	tty.Close()
	shown := <-screen
	if err != nil {
		t.Fatalf("bob recv: %v; its terminal showed:\n%s", err, shown)
	}
	rest := <-senderDone
	if err := sender.Wait(); err != nil {
		t.Errorf("bob send: %v\n%s", err, rest)
	}
	return shown
}
