package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bob-p2p/bob/relay/rendezvous"
)

// lockedBuffer is a bytes.Buffer safe for a writer and a reader goroutine.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func TestRelayCommand(t *testing.T) {
	var stderr lockedBuffer
	e := &env{stdin: strings.NewReader(""), stdout: io.Discard, stderr: &stderr,
		getenv: func(k string) string {
			switch k {
			case "BOB_RELAY_PASSWORD":
				return "from-env"
			case "BOB_RELAY_ADMIN_TOKEN":
				return "admin-from-env"
			}
			return ""
		}}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	root := newRootCmd(e)
	root.SetArgs([]string{"relay", "--listen", "127.0.0.1:0", "--metrics", "127.0.0.1:0", "--idle-timeout", "1m"})
	done := make(chan error, 1)
	go func() { done <- root.ExecuteContext(ctx) }()

	addrOf := func(msg string) string {
		re := regexp.MustCompile(`msg="` + msg + `" addr=(\S+)`)
		deadline := time.Now().Add(10 * time.Second)
		for time.Now().Before(deadline) {
			if m := re.FindStringSubmatch(stderr.String()); m != nil {
				return m[1]
			}
			time.Sleep(10 * time.Millisecond)
		}
		t.Fatalf("no %q in the relay's log:\n%s", msg, stderr.String())
		return ""
	}
	addr, metricsAddr := addrOf("relay listening"), addrOf("serving metrics")

	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := rendezvous.Open(ctx, c, "", "wrong"); err != rendezvous.ErrBadPassword {
		t.Fatalf("Open with a wrong password: %v, want ErrBadPassword", err)
	}
	c2, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	if np, err := rendezvous.Open(ctx, c2, "", "from-env"); err != nil || np != "1" {
		t.Fatalf("Open with the password from the environment: %q, %v", np, err)
	}

	resp, err := http.Get("http://" + metricsAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), "bob_relay_waiting 1") {
		t.Errorf("metrics do not show the waiting sender:\n%s", body)
	}

	// With a token set, even loopback needs it to change the log level.
	for token, want := range map[string]int{"": http.StatusForbidden, "admin-from-env": http.StatusOK} {
		req, _ := http.NewRequest(http.MethodPut, "http://"+metricsAddr+"/loglevel", strings.NewReader("debug"))
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("PUT /loglevel with token %q: %d, want %d", token, resp.StatusCode, want)
		}
	}
	if !regexp.MustCompile(`msg="relay listening" addr=\S+ max_conns=\d+ fd_limit=\d+`).MatchString(stderr.String()) {
		t.Errorf("the start log does not give the connection cap and descriptor limit:\n%s", stderr.String())
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("bob relay after cancel: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("bob relay did not stop when its context ended")
	}
}

func TestRelayCommandUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"relay", "extra"},
		{"relay", "--log-level", "loud"},
		{"relay", "--log-format", "xml"},
		{"relay", "--max-conns", "-1"},
		{"relay", "--idle-timeout", "0s"},
		{"relay", "--rate", "-2"},
		{"relay", "--waiting-rate", "-2"},
		{"relay", "--max-conns-per-56", "-1"},
		{"relay", "--metrics-from", "10.0.2.2/33"},
		{"relay", "--admin-token-file", os.DevNull},
	} {
		var stderr bytes.Buffer
		e := &env{stdin: strings.NewReader(""), stdout: io.Discard, stderr: &stderr, getenv: func(string) string { return "" }}
		// Listen only on loopback, and give up soon, should a bad flag slip through.
		args = append(args, "--listen", "127.0.0.1:0")
		if code := runWithEnv(e, args); code != exitUsage {
			t.Errorf("bob %v: exit code %d, want %d (%s)", args, code, exitUsage, stderr.String())
		}
	}
}

func runWithEnv(e *env, args []string) int {
	root := newRootCmd(e)
	root.SetArgs(args)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := root.ExecuteContext(ctx); err != nil {
		return reportError(e.stderr, nil, err)
	}
	return exitOK
}
