//go:build linux

package main

import (
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Another local user reading bob's command line (/proc/PID/cmdline) while
// it waits does not see the code's words, nor the relay password.
func TestCodeLeavesTheProcessList(t *testing.T) {
	bin, err := buildBob()
	if err != nil {
		t.Fatal(err)
	}
	// A relay that takes the connection and never answers: bob waits.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	cmd := exec.Command(bin, "recv", "--plain", "--yes", "--relay", ln.Addr().String(), "--relay-password", "hunter2", "7-depth-amuser")
	cmd.Env = []string{"HOME=" + t.TempDir(), "BOB_NO_DISCOVERY=1"}
	cmd.Dir = t.TempDir()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	path := "/proc/" + strconv.Itoa(cmd.Process.Pid) + "/cmdline"
	var line string
	for range 200 {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		line = strings.ReplaceAll(string(b), "\x00", " ")
		if strings.Contains(line, "7-xxxx") {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if strings.Contains(line, "depth") || strings.Contains(line, "amuser") || strings.Contains(line, "hunter2") || !strings.Contains(line, "recv --plain") {
		t.Errorf("the process list shows %q", line)
	}
}
