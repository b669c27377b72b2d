//go:build linux

package main

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// link is where the three bob processes run and how they reach the relay.
type link struct {
	Name            string  `json:"name"`
	RateBytesPerSec float64 `json:"rate_bytes_per_s,omitempty"` // 0: unlimited loopback

	relayIP                       net.IP
	relayPort                     int
	relayWrap, sendWrap, recvWrap []string // command prefixes (ip netns exec NS)
}

func (l link) relayAddr() string {
	return net.JoinHostPort(l.relayIP.String(), strconv.Itoa(l.relayPort))
}

// caseResult is one measured bob transfer.
type caseResult struct {
	Name     string `json:"name"`
	Link     string `json:"link"`
	Compress string `json:"compress"`
	Bytes    int64  `json:"bytes"`
	Files    int    `json:"files"`
	OK       bool   `json:"ok"`
	Error    string `json:"error,omitempty"`

	RecvSeconds float64 `json:"recv_seconds"` // receiver start to receiver exit
	SendSeconds float64 `json:"send_seconds"` // sender start to both exited
	RecvMBps    float64 `json:"mb_per_s"`
	SendMBps    float64 `json:"mb_per_s_from_sender_start"`
	// CeilingRatio is RecvMBps over the ceiling's; 0 when there is none.
	CeilingRatio float64 `json:"ceiling_ratio,omitempty"`
	// LinkRatio is RecvMBps over the link rate, for a rate-limited link.
	LinkRatio float64 `json:"link_ratio,omitempty"`
	// FirstByteMs is receiver start to the first output file holding data;
	// FirstByteUpperBound says the poll never saw it and the receiver's
	// whole run is given instead.
	FirstByteMs         float64 `json:"first_byte_ms"`
	FirstByteUpperBound bool    `json:"first_byte_upper_bound,omitempty"`
	FilesPerSec         float64 `json:"files_per_s"`

	Sender   usage `json:"sender"`
	Receiver usage `json:"receiver"`
	Relay    usage `json:"relay"`
	// CPU seconds per GiB of payload.
	CPUPerGiB cpuPerGiB `json:"cpu_s_per_gib"`
	// RunsMBps holds RecvMBps of every measured run when there were
	// several; the figures above are those of the median run.
	RunsMBps []float64 `json:"runs_mb_per_s,omitempty"`
}

type cpuPerGiB struct {
	Sender   float64 `json:"sender"`
	Receiver float64 `json:"receiver"`
	Relay    float64 `json:"relay"`
	Total    float64 `json:"total"`
}

// bobRunner runs bob cases.
type bobRunner struct {
	self     string // this binary, the spawner of measured processes
	bob      string
	workDir  string
	logDir   string
	compress string
	runs     int // transfers so far, to name each one's output folder
}

// keepOutputFiles is the file count from which a run's received files stay
// until the whole benchmark ends (the work directory is removed then).
// ext4 avoids reusing an inode freed in the last one to six minutes by
// probing each candidate, so creating 10,000 files just after deleting
// 10,000 cost the next run several times the CPU: the benchmark would be
// measuring its own clean-up.
const keepOutputFiles = 100

// runCase moves in through a fresh relay and measures it. Every process it
// starts has ended when it returns.
func (r *bobRunner) runCase(ctx context.Context, in *input, l link, nameplate int, timeout time.Duration) caseResult {
	res := caseResult{Name: in.name, Link: l.Name, Compress: r.compress, Bytes: in.bytes, Files: in.files}
	if err := r.transfer(ctx, in, l, nameplate, timeout, &res); err != nil {
		res.Error = err.Error()
		if ctx.Err() != nil {
			res.Error = "interrupted (" + res.Error + ")"
		}
		return res
	}
	res.OK = true
	return res
}

func (r *bobRunner) transfer(ctx context.Context, in *input, l link, nameplate int, timeout time.Duration, res *caseResult) (err error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tag := in.name + "-" + strings.ReplaceAll(l.Name, " ", "-")

	var procs []*proc
	defer func() {
		for _, p := range procs {
			p.kill()
			<-p.done
			p.log.Close()
		}
	}()
	start := func(role string, argv []string, watch *lineWatcher) (*proc, error) {
		base := filepath.Join(r.logDir, tag+"-"+role)
		log, err := newProcLog(base + ".log")
		if err != nil {
			return nil, err
		}
		sp := &spawner{self: r.self, usagePath: base + ".rusage.json"}
		var p *proc
		if watch != nil {
			p, err = startProc(ctx, "bob "+role, argv, log, watch, sp)
		} else {
			p, err = startProc(ctx, "bob "+role, argv, log, nil, sp)
		}
		if err != nil {
			log.Close()
			return nil, err
		}
		procs = append(procs, p)
		return p, nil
	}

	relay, err := start("relay", concat(l.relayWrap, r.bob, "relay", "--listen", l.relayAddr()), nil)
	if err != nil {
		return err
	}
	if err := waitListening(ctx, relay, l.relayIP, l.relayPort); err != nil {
		return err
	}

	code := fmt.Sprintf("%d-bench-%s-data", nameplate, in.name)
	codeLine := newLineWatcher("code:")
	// The benchmark measures the relay's path (--no-direct), and multicasts
	// nothing on the machine's network (--no-discovery).
	sender, err := start("send", concat(l.sendWrap, r.bob, "send", "--plain", "--no-discovery", "--no-direct", "--relay", l.relayAddr(),
		"--code", code, "--compress", r.compress, in.path), codeLine)
	if err != nil {
		return err
	}
	shown, err := waitLine(ctx, codeLine, sender)
	if err != nil {
		return err
	}
	if shown != code {
		return fmt.Errorf("bob send printed the code %q, want %q", shown, code)
	}

	r.runs++
	outDir := filepath.Join(r.workDir, fmt.Sprintf("recv-%s-%d", tag, r.runs))
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return err
	}
	if in.files < keepOutputFiles {
		defer os.RemoveAll(outDir)
	}
	watchCtx, stopWatch := context.WithCancel(ctx)
	defer stopWatch()
	recvStart := time.Now()
	firstByte := watchFirstByte(watchCtx, outDir, recvStart)
	receiver, err := start("recv", concat(l.recvWrap, r.bob, "recv", "--plain", "--yes", "--no-discovery", "--no-direct", "--relay", l.relayAddr(),
		"--out", outDir, code), nil)
	if err != nil {
		return err
	}

	// When one side fails, the other gets a short grace before it is killed.
	waitCtx := ctx
	select {
	case <-receiver.done:
	case <-sender.done:
	case <-ctx.Done():
	}
	if (receiver.exitedNow() && receiver.err != nil) || (sender.exitedNow() && sender.err != nil) {
		var c context.CancelFunc
		waitCtx, c = context.WithTimeout(ctx, 10*time.Second)
		defer c()
	}
	recvErr := receiver.wait(waitCtx)
	sendErr := sender.wait(waitCtx)
	stopWatch()
	fb := <-firstByte
	relayErr := relay.stop(10 * time.Second)

	recvTime := receiver.exited.Sub(recvStart)
	sendTime := later(receiver.exited, sender.exited).Sub(sender.started)
	res.RecvSeconds, res.SendSeconds = recvTime.Seconds(), sendTime.Seconds()
	res.RecvMBps, res.SendMBps = mbps(in.bytes, recvTime), mbps(in.bytes, sendTime)
	if recvTime > 0 {
		res.FilesPerSec = float64(in.files) / recvTime.Seconds()
	}
	if fb < 0 {
		fb, res.FirstByteUpperBound = recvTime, true
	}
	res.FirstByteMs = float64(fb) / float64(time.Millisecond)
	var usageErrs [3]error
	res.Sender, usageErrs[0] = sender.usage()
	res.Receiver, usageErrs[1] = receiver.usage()
	res.Relay, usageErrs[2] = relay.usage()
	if in.bytes > 0 {
		g := float64(in.bytes) / gib
		res.CPUPerGiB = cpuPerGiB{
			Sender:   res.Sender.CPUSeconds / g,
			Receiver: res.Receiver.CPUSeconds / g,
			Relay:    res.Relay.CPUSeconds / g,
		}
		res.CPUPerGiB.Total = res.CPUPerGiB.Sender + res.CPUPerGiB.Receiver + res.CPUPerGiB.Relay
	}
	if err := errors.Join(sendErr, recvErr); err != nil {
		return err
	}
	got, err := hashTree(outDir)
	if err != nil {
		return fmt.Errorf("reading what bob received: %w", err)
	}
	if d := diffManifests(in.want, got); d != "" {
		return fmt.Errorf("bob delivered wrong output: %s", d)
	}
	if relayErr != nil {
		return relayErr
	}
	return errors.Join(usageErrs[:]...)
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func concat(prefix []string, rest ...string) []string {
	return append(append([]string(nil), prefix...), rest...)
}

// freeLoopbackPort asks the kernel for a port nobody uses right now.
func freeLoopbackPort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// waitListening waits until the relay process has a listening socket on
// ip:port. It reads the process's own /proc/PID/net/tcp, which shows the
// network namespace the process is in, instead of connecting: a probe
// connection would count as a client of the relay. The process started may
// be the spawner, so its children are looked at too.
func waitListening(ctx context.Context, p *proc, ip net.IP, port int) error {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	t := time.NewTicker(5 * time.Millisecond)
	defer t.Stop()
	pid := p.cmd.Process.Pid
	for {
		for _, id := range append([]int{pid}, childPIDs(pid)...) {
			b, err := os.ReadFile(fmt.Sprintf("/proc/%d/net/tcp", id))
			if err == nil && isListening(string(b), ip, port) {
				return nil
			}
		}
		select {
		case <-p.done:
			return fmt.Errorf("%s exited before listening: %v%s", p.name, p.err, p.log.excerpt())
		case <-ctx.Done():
			return fmt.Errorf("%s did not listen on %s in time", p.name, net.JoinHostPort(ip.String(), strconv.Itoa(port)))
		case <-t.C:
		}
	}
}

// childPIDs lists the processes whose parent is pid, from /proc.
func childPIDs(pid int) []int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var out []int
	for _, e := range entries {
		id, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		if ppid, ok := parentFromStat(string(b)); ok && ppid == pid {
			out = append(out, id)
		}
	}
	return out
}

// parentFromStat reads the parent pid from /proc/PID/stat, whose second
// field (the command name, in parentheses) may itself hold spaces and ")".
func parentFromStat(stat string) (int, bool) {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, false
	}
	f := strings.Fields(stat[i+1:])
	if len(f) < 2 {
		return 0, false
	}
	ppid, err := strconv.Atoi(f[1])
	return ppid, err == nil
}

// isListening reports whether a /proc/net/tcp table has a socket in state
// LISTEN on ip:port or on the wildcard address with that port.
func isListening(table string, ip net.IP, port int) bool {
	ip4 := ip.To4()
	if ip4 == nil {
		return false
	}
	want := fmt.Sprintf("%08X:%04X", binary.NativeEndian.Uint32(ip4), port)
	any := fmt.Sprintf("%08X:%04X", 0, port)
	for i, line := range strings.Split(table, "\n") {
		f := strings.Fields(line)
		if i == 0 || len(f) < 4 {
			continue
		}
		local, state := strings.ToUpper(f[1]), f[3]
		if state == "0A" && (local == want || local == any) {
			return true
		}
	}
	return false
}

// watchFirstByte polls dir about every millisecond until some file under it
// holds data, and sends the time since start; or -1 once ctx ends first.
func watchFirstByte(ctx context.Context, dir string, start time.Time) <-chan time.Duration {
	ch := make(chan time.Duration, 1)
	go func() {
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		for {
			if hasData(dir) {
				ch <- time.Since(start)
				return
			}
			select {
			case <-ctx.Done():
				ch <- -1
				return
			case <-t.C:
			}
		}
	}()
	return ch
}

var errFound = errors.New("found")

// hasData reports whether a regular file under dir has a size above zero.
// Files come and go (renamed from NAME.bob-part) while it looks; whatever
// vanishes is skipped.
func hasData(dir string) bool {
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == dir {
				return err
			}
			return nil
		}
		if !d.Type().IsRegular() {
			return nil
		}
		if info, err := d.Info(); err == nil && info.Size() > 0 {
			return errFound
		}
		return nil
	})
	return errors.Is(err, errFound)
}
