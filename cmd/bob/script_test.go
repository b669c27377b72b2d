package main

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/bob-p2p/bob/relay"
)

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"bob": func() {
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			code := run(ctx, os.Args[1:])
			stop()
			os.Exit(code)
		},
		"bob-delay-proxy": delayProxyMain,
	})
}

// scriptState is what one script's custom commands share.
type scriptState struct {
	relay *relay.Server
	mu    sync.Mutex
	bg    map[string]*bgProc
}

type bgProc struct {
	cmd  *exec.Cmd
	done chan struct{}
	err  error
}

type stateKey struct{}

func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:                 "testdata/script",
		RequireExplicitExec: true,
		Setup: func(env *testscript.Env) error {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				return err
			}
			cfg := relay.DefaultConfig()
			cfg.Logger = slog.New(slog.DiscardHandler)
			cfg.ShutdownGrace = 100 * time.Millisecond
			srv := relay.New(cfg)
			ctx, cancel := context.WithCancel(context.Background())
			served := make(chan struct{})
			go func() { defer close(served); _ = srv.Serve(ctx, ln) }()
			st := &scriptState{relay: srv, bg: map[string]*bgProc{}}
			env.Values[stateKey{}] = st
			env.Defer(func() {
				st.killAll()
				cancel()
				<-served
			})
			env.Setenv("TESTRELAY", ln.Addr().String())
			env.Setenv("XDG_CONFIG_HOME", filepath.Join(env.WorkDir, ".config"))
			env.Setenv("BOB_RELAY", "")
			env.Setenv("BOB_RELAY_PASSWORD", "")
			// Tests reach nothing beyond loopback: no multicast on the
			// machine's network.
			env.Setenv("BOB_NO_DISCOVERY", "1")
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"bgbob":       cmdBgBob,
			"waitbob":     cmdWaitBob,
			"waitgrep":    cmdWaitGrep,
			"codefrom":    cmdCodeFrom,
			"waitwaiting": cmdWaitWaiting,
			"interrupt":   cmdInterrupt,
			"mkfile":      cmdMkfile,
		},
	})
}

func state(ts *testscript.TestScript) *scriptState { return ts.Value(stateKey{}).(*scriptState) }

func (st *scriptState) killAll() {
	st.mu.Lock()
	defer st.mu.Unlock()
	for _, p := range st.bg {
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// scriptEnv rebuilds the environment a script's exec would see.
func scriptEnv(ts *testscript.TestScript) []string {
	var env []string
	for _, k := range []string{"PATH", "HOME", "WORK", "TMPDIR", "XDG_CONFIG_HOME", "BOB_RELAY", "BOB_RELAY_PASSWORD", "BOB_NO_DISCOVERY", "BOB_CODE", "TESTRELAY", "SYSTEMROOT"} {
		env = append(env, k+"="+ts.Getenv(k))
	}
	return env
}

// bgbob NAME ARGS...: run bob in the background, its output going to
// $WORK/NAME.stdout and $WORK/NAME.stderr as it runs; $WORK/NAME.stdin, if
// it exists, is its standard input.
func cmdBgBob(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 1 {
		ts.Fatalf("usage: bgbob NAME ARGS...")
	}
	name := args[0]
	stdout, err := os.Create(ts.MkAbs(name + ".stdout"))
	ts.Check(err)
	stderr, err := os.Create(ts.MkAbs(name + ".stderr"))
	ts.Check(err)
	cmd := exec.Command("bob", args[1:]...)
	if path, err := exec.LookPath("bob"); err == nil {
		cmd.Path = path
	}
	cmd.Dir = ts.MkAbs(".")
	cmd.Env = scriptEnv(ts)
	cmd.Stdout, cmd.Stderr = stdout, stderr
	var keepOpen *os.File // a keyboard that never answers, so prompts wait
	if in, err := os.Open(ts.MkAbs(name + ".stdin")); err == nil {
		defer in.Close()
		cmd.Stdin = in
	} else {
		r, w, err := os.Pipe()
		ts.Check(err)
		defer r.Close()
		cmd.Stdin, keepOpen = r, w
	}
	ts.Check(cmd.Start())
	p := &bgProc{cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		if keepOpen != nil {
			keepOpen.Close()
		}
		stdout.Close()
		stderr.Close()
		close(p.done)
	}()
	st := state(ts)
	st.mu.Lock()
	st.bg[name] = p
	st.mu.Unlock()
}

// waitbob NAME [EXITCODE]: wait (at most 60 s) for a background bob and check
// its exit code (default 0).
func cmdWaitBob(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 1 || len(args) > 2 {
		ts.Fatalf("usage: waitbob NAME [EXITCODE]")
	}
	want := 0
	if len(args) == 2 {
		n, err := strconv.Atoi(args[1])
		ts.Check(err)
		want = n
	}
	st := state(ts)
	st.mu.Lock()
	p := st.bg[args[0]]
	st.mu.Unlock()
	if p == nil {
		ts.Fatalf("no background bob named %s", args[0])
	}
	select {
	case <-p.done:
	case <-time.After(60 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
		ts.Fatalf("%s did not finish in 60 s", args[0])
	}
	got := p.cmd.ProcessState.ExitCode()
	ts.Logf("%s exited %d\nstdout:\n%s\nstderr:\n%s", args[0], got, ts.ReadFile(args[0]+".stdout"), ts.ReadFile(args[0]+".stderr"))
	if got != want {
		ts.Fatalf("%s exited %d, want %d", args[0], got, want)
	}
}

// waitgrep FILE REGEXP: wait (at most 30 s) until FILE matches.
func cmdWaitGrep(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: waitgrep FILE REGEXP")
	}
	re, err := regexp.Compile(args[1])
	ts.Check(err)
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		data, _ := os.ReadFile(ts.MkAbs(args[0]))
		if re.Match(data) {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	data, _ := os.ReadFile(ts.MkAbs(args[0]))
	ts.Fatalf("%s did not match %q in 30 s; it holds:\n%s", args[0], args[1], data)
}

// codefrom FILE: set $CODE from the "code: X" line a sender printed.
func cmdCodeFrom(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: codefrom FILE")
	}
	m := regexp.MustCompile(`(?m)^code: (\S+)$`).FindStringSubmatch(ts.ReadFile(args[0]))
	if m == nil {
		ts.Fatalf("no code line in %s", args[0])
	}
	ts.Setenv("CODE", m[1])
}

// waitwaiting N: wait (at most 30 s) until the test relay has N unpaired sides.
func cmdWaitWaiting(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: waitwaiting N")
	}
	want, err := strconv.ParseFloat(args[0], 64)
	ts.Check(err)
	reg := state(ts).relay.Registry()
	deadline := time.Now().Add(30 * time.Second)
	for {
		mfs, err := reg.Gather()
		ts.Check(err)
		for _, mf := range mfs {
			if mf.GetName() == "bob_relay_waiting" && len(mf.GetMetric()) > 0 && mf.GetMetric()[0].GetGauge().GetValue() >= want {
				return
			}
		}
		if time.Now().After(deadline) {
			ts.Fatalf("relay never had %v waiting sides", want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// interrupt NAME: send SIGINT to a background bob (Ctrl-C).
func cmdInterrupt(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: interrupt NAME")
	}
	st := state(ts)
	st.mu.Lock()
	p := st.bg[args[0]]
	st.mu.Unlock()
	if p == nil {
		ts.Fatalf("no background bob named %s", args[0])
	}
	ts.Check(p.cmd.Process.Signal(os.Interrupt))
}

// mkfile PATH SIZE: a file of SIZE pseudo-random bytes (deterministic).
func cmdMkfile(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: mkfile PATH SIZE")
	}
	n, err := strconv.Atoi(args[1])
	ts.Check(err)
	var b bytes.Buffer
	x := uint32(2463534242)
	for b.Len() < n {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		fmt.Fprintf(&b, "%08x", x)
	}
	path := ts.MkAbs(args[0])
	ts.Check(os.MkdirAll(filepath.Dir(path), 0o755))
	ts.Check(os.WriteFile(path, b.Bytes()[:n], 0o644))
}
