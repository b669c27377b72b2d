package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/bob-p2p/bob/relay/rendezvous"
)

// TestRelayCommandJoinsACluster runs two bob relay commands on one NATS
// server, the secret from the environment: a sender on one and its
// receiver on the other are paired, so the flags reach the cluster and the
// node port is served.
func TestRelayCommandJoinsACluster(t *testing.T) {
	ns, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, NoLog: true, NoSigs: true,
		JetStream: true, StoreDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	ns.Start()
	defer func() { ns.Shutdown(); ns.WaitForShutdown() }()
	if !ns.ReadyForConnections(10 * time.Second) {
		t.Fatal("NATS did not start")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	getenv := func(k string) string {
		if k == "BOB_CLUSTER_SECRET" {
			return "a secret shared by both test nodes"
		}
		return ""
	}
	start := func() (addr string, done chan error) {
		var stderr lockedBuffer
		e := &env{stdin: strings.NewReader(""), stdout: io.Discard, stderr: &stderr, getenv: getenv}
		root := newRootCmd(e)
		root.SetArgs([]string{"relay", "--listen", "127.0.0.1:0", "--cluster", ns.ClientURL(),
			"--node-addr", "127.0.0.1:" + freeLoopbackPort(t), "--cluster-replicas", "1"})
		done = make(chan error, 1)
		go func() { done <- root.ExecuteContext(ctx) }()
		re := regexp.MustCompile(`msg="relay listening" addr=(\S+)`)
		for range 1000 {
			if m := re.FindStringSubmatch(stderr.String()); m != nil {
				return m[1], done
			}
			time.Sleep(10 * time.Millisecond)
		}
		t.Fatalf("no relay listening in the log:\n%s", stderr.String())
		return "", nil
	}
	a, doneA := start()
	b, doneB := start()

	var sender net.Conn
	var nameplate string
	// The first claims wait for JetStream to open the bucket.
	for i := 0; ; i++ {
		sender, err = net.Dial("tcp", a)
		if err != nil {
			t.Fatal(err)
		}
		if nameplate, err = rendezvous.Open(ctx, sender, "", ""); err == nil {
			break
		}
		sender.Close()
		if !errors.Is(err, rendezvous.ErrClusterUnavailable) || i == 100 {
			t.Fatalf("opening a nameplate: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	defer sender.Close()
	receiver, err := net.Dial("tcp", b)
	if err != nil {
		t.Fatal(err)
	}
	defer receiver.Close()
	if err := rendezvous.Claim(ctx, receiver, nameplate, ""); err != nil {
		t.Fatalf("receiver on the other node: %v", err)
	}
	if err := rendezvous.WaitPaired(ctx, sender); err != nil {
		t.Fatalf("sender: %v", err)
	}
	if _, err := sender.Write([]byte("hi")); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, 2)
	if _, err := io.ReadFull(receiver, got); err != nil || string(got) != "hi" {
		t.Fatalf("receiver read %q, %v", got, err)
	}
	// The pair ends, so the relays stop without waiting out their grace.
	sender.Close()
	receiver.Close()
	cancel()
	for _, done := range []chan error{doneA, doneB} {
		if err := <-done; err != nil {
			t.Errorf("bob relay --cluster after cancel: %v", err)
		}
	}
}

func freeLoopbackPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return fmt.Sprint(ln.Addr().(*net.TCPAddr).Port)
}

// TestRelayClusterFlagsRefuseBadSetups: joining a cluster needs a node
// address and a long enough secret, and the cluster flags mean nothing
// without --cluster; each mistake is a usage error that says what is wrong.
func TestRelayClusterFlagsRefuseBadSetups(t *testing.T) {
	short := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(short, []byte("short\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		env  string
		want string
	}{
		{[]string{"--cluster", "nats://127.0.0.1:1"}, "a long enough cluster secret", "--node-addr"},
		{[]string{"--cluster", "nats://127.0.0.1:1", "--node-addr", "127.0.0.1:0"}, "", "secret of at least 16 bytes"},
		{[]string{"--cluster", "nats://127.0.0.1:1", "--node-addr", "127.0.0.1:0", "--cluster-secret-file", short}, "a long enough cluster secret", "secret of at least 16 bytes"},
		{[]string{"--node-addr", "127.0.0.1:0"}, "", "need --cluster"},
	} {
		e := &env{stdin: strings.NewReader(""), stdout: io.Discard, stderr: io.Discard,
			getenv: func(k string) string {
				if k == "BOB_CLUSTER_SECRET" {
					return tc.env
				}
				return ""
			}}
		root := newRootCmd(e)
		root.SetArgs(append([]string{"relay", "--listen", "127.0.0.1:0"}, tc.args...))
		err := root.ExecuteContext(context.Background())
		var ue usageError
		if !errors.As(err, &ue) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("bob relay %v: %v, want a usage error about %q", tc.args, err, tc.want)
		}
	}
}
