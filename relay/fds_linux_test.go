package relay_test

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"runtime/debug"
	"strings"
	"syscall"
	"testing"

	"github.com/bob-p2p/bob/internal/relaytest"
	"github.com/bob-p2p/bob/relay"
	"github.com/bob-p2p/bob/relay/rendezvous"
)

// TestSplicePipesCloseWhenPairsEnd checks that a pair's descriptors, its
// splice pipes included, are closed as it ends, with the garbage collector
// off: Go's pooled splice pipes stayed open until a collection.
func TestSplicePipesCloseWhenPairsEnd(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	addr, srv := relaytest.StartConfig(t, testConfig())
	base := openFDs()
	const pairs = 8
	data := make([]byte, 256<<10)
	for range pairs {
		s, r := pairUp(t, addr)
		done := make(chan error, 1)
		go func() {
			_, err := io.CopyN(io.Discard, r, int64(len(data)))
			done <- err
		}()
		if _, err := s.Write(data); err != nil {
			t.Fatalf("sending through the relay: %v", err)
		}
		if err := <-done; err != nil {
			t.Fatalf("receiving through the relay: %v", err)
		}
		s.Close()
		r.Close()
	}
	waitMetric(t, srv, 0, "bob_relay_pairs")
	waitMetric(t, srv, 0, "bob_relay_connections")
	if got := openFDs(); got != base {
		t.Errorf("open descriptors after %d pairs ended: %d, baseline %d", pairs, got, base)
	}
}

const fdChildEnv = "BOB_RELAY_TEST_FD_CHILD"

// TestLowFDLimitRepliesFull runs a relay in a child process whose open-file
// limit is 512 and fills it with pairs: past the cap derived from that limit
// a client is told "relay full", where accept used to fail with EMFILE and
// the client got nothing.
func TestLowFDLimitRepliesFull(t *testing.T) {
	if os.Getenv(fdChildEnv) != "" {
		runFDChild(t)
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestLowFDLimitRepliesFull$")
	cmd.Env = append(os.Environ(), fdChildEnv+"=1")
	cmd.Stderr = t.Output()
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting the child relay: %v", err)
	}
	defer func() {
		stdin.Close()
		if err := cmd.Wait(); err != nil {
			t.Errorf("child relay: %v", err)
		}
	}()
	sc := bufio.NewScanner(stdout)
	if !sc.Scan() {
		t.Fatalf("the child relay said nothing: %v", sc.Err())
	}
	addr, ok := strings.CutPrefix(sc.Text(), "addr ")
	if !ok {
		t.Fatalf("child relay: %q, want its address", sc.Text())
	}
	go io.Copy(io.Discard, stdout) //nolint:errcheck // ends when the child does

	var full bool
	for i := 0; i < 200 && !full; i++ {
		s := dial(t, addr)
		np, err := rendezvous.Open(ctxT(t), s, "", "")
		if errors.Is(err, rendezvous.ErrRelayFull) {
			full = true
			break
		}
		if err != nil {
			t.Fatalf("sender %d: %v, want a nameplate or ErrRelayFull", i, err)
		}
		r := dial(t, addr)
		err = rendezvous.Claim(ctxT(t), r, np, "")
		if errors.Is(err, rendezvous.ErrRelayFull) {
			full = true
			break
		}
		if err != nil {
			t.Fatalf("receiver %d: %v, want to pair or ErrRelayFull", i, err)
		}
		if err := rendezvous.WaitPaired(ctxT(t), s); err != nil {
			t.Fatalf("pair %d: %v", i, err)
		}
		// Each pair forwards, so its splice pipes are open.
		if _, err := s.Write([]byte("x")); err != nil {
			t.Fatalf("pair %d: %v", i, err)
		}
		var b [1]byte
		if _, err := io.ReadFull(r, b[:]); err != nil {
			t.Fatalf("pair %d forwarding: %v", i, err)
		}
	}
	if !full {
		t.Fatal("200 pairs fit under a limit of 512 descriptors; want relay full before")
	}
}

func runFDChild(t *testing.T) {
	lim := syscall.Rlimit{Cur: 512, Max: 512}
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatalf("lowering the open-file limit: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := testConfig()
	cfg.MaxFDs = 0 // read the limit just set
	cfg.WaitTimeout = relaytest.Config().WaitTimeout
	cfg.IdleTimeout = relaytest.Config().IdleTimeout
	srv := relay.New(cfg)
	if srv.MaxConns() >= 512 {
		t.Errorf("MaxConns() = %d under a limit of 512 descriptors", srv.MaxConns())
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	os.Stdout.WriteString("addr " + ln.Addr().String() + "\n")
	io.Copy(io.Discard, os.Stdin) //nolint:errcheck // the parent closes stdin when done
	cancel()
	if err := <-done; err != nil {
		t.Errorf("relay: %v", err)
	}
}
