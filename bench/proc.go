//go:build linux

package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"
)

// usage is what the kernel accounted to one process (and any children it
// waited for).
type usage struct {
	UserSeconds float64 `json:"user_s"`
	SysSeconds  float64 `json:"sys_s"`
	CPUSeconds  float64 `json:"cpu_s"`
	MaxRSSMiB   float64 `json:"max_rss_mib"`
}

// usageFromRusage converts a Linux rusage, whose Maxrss is in KiB.
func usageFromRusage(ru *syscall.Rusage) usage {
	if ru == nil {
		return usage{}
	}
	u := usage{
		UserSeconds: timevalSeconds(ru.Utime),
		SysSeconds:  timevalSeconds(ru.Stime),
		MaxRSSMiB:   float64(ru.Maxrss) / 1024,
	}
	u.CPUSeconds = u.UserSeconds + u.SysSeconds
	return u
}

func timevalSeconds(tv syscall.Timeval) float64 {
	return float64(tv.Sec) + float64(tv.Usec)/1e6
}

// proc is one child process. It runs in its own process group, which is
// killed when ctx ends, and is killed by the kernel if the benchmark dies.
type proc struct {
	name      string
	cmd       *exec.Cmd
	log       *procLog
	started   time.Time
	usagePath string // where the spawner writes the rusage; "" when not spawned

	done   chan struct{} // closed once exited and err are set
	exited time.Time
	err    error
}

// spawner starts measured processes through a small intermediate process:
// this binary re-executed with -internal-role spawn.
//
// Why: Go starts children with vfork, and at exec Linux seeds the child's
// ru_maxrss with the parent's peak RSS, so every child of the benchmark
// would report at least the benchmark's own peak (tens of MiB after hashing
// the inputs). The spawner is small and fresh; it runs the real command,
// waits for it and writes its rusage to usagePath.
type spawner struct {
	self      string // this binary
	usagePath string
}

// startProc starts argv, through sp when not nil. Its standard output goes
// to the log and to extra (when not nil); its standard error to the log.
func startProc(ctx context.Context, name string, argv []string, log *procLog, extra io.Writer, sp *spawner) (*proc, error) {
	usagePath := ""
	if sp != nil {
		usagePath = sp.usagePath
		argv = append([]string{sp.self, "-internal-role", "spawn", "-internal-file", usagePath, "--"}, argv...)
	}
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	cmd.Stdin = nil
	if extra != nil {
		cmd.Stdout = io.MultiWriter(log, extra)
	} else {
		cmd.Stdout = log
	}
	cmd.Stderr = log
	p := &proc{name: name, cmd: cmd, log: log, usagePath: usagePath, done: make(chan struct{})}
	p.started = time.Now()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	go func() {
		err := cmd.Wait()
		p.exited = time.Now()
		p.err = err
		close(p.done)
	}()
	return p, nil
}

// wait waits for the process to exit, at most until ctx ends; then it kills
// the process group and still waits (the kill is immediate).
func (p *proc) wait(ctx context.Context) error {
	select {
	case <-p.done:
	case <-ctx.Done():
		p.kill()
		<-p.done
		if p.err == nil {
			return nil
		}
		return fmt.Errorf("%s did not finish in time: %w", p.name, ctx.Err())
	}
	if p.err != nil {
		return fmt.Errorf("%s failed: %w%s", p.name, p.err, p.log.excerpt())
	}
	return nil
}

// stop asks the process to end with SIGTERM, kills it after grace, and
// waits. It reports an error when the process had to be killed or failed.
func (p *proc) stop(grace time.Duration) error {
	select {
	case <-p.done:
		return p.exitError()
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-p.done:
		if stoppedByTerm(p.err) {
			return nil
		}
		return p.exitError()
	case <-t.C:
		p.kill()
		<-p.done
		return fmt.Errorf("%s did not stop within %v of SIGTERM and was killed", p.name, grace)
	}
}

// stoppedByTerm accepts the ways a program reports that it ended because
// of SIGTERM: exit 0, death by the signal, or exit 128+15 or 130.
func stoppedByTerm(err error) bool {
	if err == nil {
		return true
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		return false
	}
	if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() && ws.Signal() == syscall.SIGTERM {
		return true
	}
	code := ee.ExitCode()
	return code == 128+int(syscall.SIGTERM) || code == 130
}

func (p *proc) exitError() error {
	if p.err != nil {
		return fmt.Errorf("%s failed: %w%s", p.name, p.err, p.log.excerpt())
	}
	return nil
}

func (p *proc) exitedNow() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// kill ends the whole process group at once.
func (p *proc) kill() {
	if !p.exitedNow() {
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	}
}

// usage returns what the kernel accounted to the process once it exited:
// from the spawner's report when spawned, else from wait itself.
func (p *proc) usage() (usage, error) {
	if !p.exitedNow() || p.cmd.ProcessState == nil {
		return usage{}, fmt.Errorf("%s has not exited", p.name)
	}
	if p.usagePath != "" {
		return readUsage(p.usagePath)
	}
	ru, ok := p.cmd.ProcessState.SysUsage().(*syscall.Rusage)
	if !ok {
		return usage{}, fmt.Errorf("no rusage for %s", p.name)
	}
	return usageFromRusage(ru), nil
}

func readUsage(path string) (usage, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return usage{}, fmt.Errorf("reading the rusage the spawner wrote: %w", err)
	}
	var u usage
	if err := json.Unmarshal(b, &u); err != nil {
		return usage{}, fmt.Errorf("reading the rusage the spawner wrote: %w", err)
	}
	return u, nil
}

// runSpawn is the spawner: it runs argv with this process's standard
// streams, forwards SIGTERM and SIGINT to it, writes its rusage to
// usagePath and exits as it did (128+signal when a signal ended it).
func runSpawn(usagePath string, argv []string, stderr io.Writer) int {
	if usagePath == "" || len(argv) == 0 {
		fmt.Fprintln(stderr, "bench spawn: need -internal-file and a command after --")
		return 2
	}
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	defer signal.Stop(sigs)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = nil, os.Stdout, os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		fmt.Fprintln(stderr, "bench spawn:", err)
		return 127
	}
	done := make(chan struct{})
	go func() {
		for {
			select {
			case s := <-sigs:
				_ = cmd.Process.Signal(s)
			case <-done:
				return
			}
		}
	}()
	_ = cmd.Wait()
	close(done)
	ru, _ := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	b, _ := json.Marshal(usageFromRusage(ru))
	tmp := usagePath + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		fmt.Fprintln(stderr, "bench spawn:", err)
		return 125
	}
	if err := os.Rename(tmp, usagePath); err != nil {
		fmt.Fprintln(stderr, "bench spawn:", err)
		return 125
	}
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return cmd.ProcessState.ExitCode()
}

// procLog keeps a child's output in a file (kept with -keep) and its last
// lines in memory for error messages. It is safe for concurrent writes.
type procLog struct {
	mu   sync.Mutex
	file *os.File
	tail []byte
}

const logTailSize = 2 * kib

func newProcLog(path string) (*procLog, error) {
	l := &procLog{}
	if path != "" {
		f, err := os.Create(path)
		if err != nil {
			return nil, err
		}
		l.file = f
	}
	return l, nil
}

func (l *procLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.file != nil {
		_, _ = l.file.Write(p) // the log is a convenience; never fail the child for it
	}
	l.tail = append(l.tail, p...)
	if len(l.tail) > logTailSize {
		l.tail = append(l.tail[:0], l.tail[len(l.tail)-logTailSize:]...)
	}
	return len(p), nil
}

// excerpt returns the last lines of output, ready to append to an error.
func (l *procLog) excerpt() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := strings.TrimSpace(string(l.tail))
	if s == "" {
		return ""
	}
	lines := strings.Split(s, "\n")
	if len(lines) > 6 {
		lines = lines[len(lines)-6:]
	}
	return "; its last output: " + strings.Join(lines, " | ")
}

func (l *procLog) Close() error {
	if l.file != nil {
		return l.file.Close()
	}
	return nil
}

// lineWatcher delivers, once, the rest of the first output line that starts
// with prefix. Lines are only held up to a bound, so a child writing a huge
// line cannot make the benchmark grow.
type lineWatcher struct {
	prefix string
	found  chan string // buffered 1

	mu      sync.Mutex
	line    []byte
	tooLong bool
	sent    bool
}

func newLineWatcher(prefix string) *lineWatcher {
	return &lineWatcher{prefix: prefix, found: make(chan string, 1)}
}

const maxWatchedLine = 4 * kib

func (w *lineWatcher) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := len(p)
	for len(p) > 0 && !w.sent {
		i := strings.IndexByte(string(p), '\n')
		chunk := p
		if i >= 0 {
			chunk = p[:i]
		}
		if len(w.line)+len(chunk) > maxWatchedLine {
			w.tooLong = true
		} else {
			w.line = append(w.line, chunk...)
		}
		if i < 0 {
			break
		}
		p = p[i+1:]
		line := strings.TrimRight(string(w.line), "\r")
		if !w.tooLong && strings.HasPrefix(line, w.prefix) {
			w.found <- strings.TrimSpace(line[len(w.prefix):])
			w.sent = true
		}
		w.line, w.tooLong = w.line[:0], false
	}
	return n, nil
}

// waitLine waits for the watched line, for the process to exit first, or
// for ctx to end.
func waitLine(ctx context.Context, w *lineWatcher, p *proc) (string, error) {
	select {
	case s := <-w.found:
		return s, nil
	case <-p.done:
		select {
		case s := <-w.found: // printed just before exiting
			return s, nil
		default:
		}
		return "", fmt.Errorf("%s exited before printing %q: %v%s", p.name, strings.TrimSpace(w.prefix), p.err, p.log.excerpt())
	case <-ctx.Done():
		return "", fmt.Errorf("%s did not print %q in time: %w", p.name, strings.TrimSpace(w.prefix), ctx.Err())
	}
}
