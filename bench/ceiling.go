//go:build linux

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"time"
)

// The ceiling is what two plain processes reach through a plain proxy
// process on this machine: source (sendfile from the input file) → proxy
// (TCPConn to TCPConn io.Copy, which splices) → sink (reads and discards).
// The three are this binary, re-executed with -internal-role. The
// encrypted ceiling (sealed.go) swaps source and sink for ones that seal
// and open.

const listeningPrefix = "listening "

// runInternal runs one ceiling process, or the spawner, and returns its
// exit code.
func runInternal(a internalArgs, stdout, stderr io.Writer) int {
	if a.role == "spawn" {
		return runSpawn(a.file, a.argv, stderr)
	}
	ctx, cancel := context.WithTimeout(context.Background(), a.timeout)
	defer cancel()
	var err error
	switch a.role {
	case "sink":
		err = runSink(ctx, a.expect, stdout)
	case "proxy":
		err = runProxy(ctx, a.addr, stdout)
	case "source":
		err = runSource(ctx, a.addr, a.file)
	case "sealed-source":
		err = runSealedSource(ctx, a.addr, a.file, a.key)
	case "open-sink":
		err = runOpenSink(ctx, a.expect, a.key, stdout)
	default:
		err = fmt.Errorf("unknown -internal-role %q", a.role)
	}
	if err != nil {
		fmt.Fprintln(stderr, "bench", a.role+":", err)
		return 1
	}
	return 0
}

// listenOne listens on a free loopback port, announces it on stdout and
// accepts exactly one connection before ctx ends.
func listenOne(ctx context.Context, stdout io.Writer) (*net.TCPConn, error) {
	ln, err := net.ListenTCP("tcp", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return nil, err
	}
	defer ln.Close()
	if d, ok := ctx.Deadline(); ok {
		_ = ln.SetDeadline(d)
	}
	fmt.Fprintf(stdout, "%s%d\n", listeningPrefix, ln.Addr().(*net.TCPAddr).Port)
	c, err := ln.AcceptTCP()
	if err != nil {
		return nil, err
	}
	if d, ok := ctx.Deadline(); ok {
		_ = c.SetDeadline(d)
	}
	return c, nil
}

func runSink(ctx context.Context, expect int64, stdout io.Writer) error {
	c, err := listenOne(ctx, stdout)
	if err != nil {
		return err
	}
	defer c.Close()
	buf := make([]byte, 1*mib)
	var n int64
	for {
		k, err := c.Read(buf)
		n += int64(k)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
	}
	if expect >= 0 && n != expect {
		return fmt.Errorf("received %d bytes, want %d", n, expect)
	}
	fmt.Fprintf(stdout, "received %d\n", n)
	return nil
}

func runProxy(ctx context.Context, upstream string, stdout io.Writer) error {
	down, err := listenOne(ctx, stdout)
	if err != nil {
		return err
	}
	defer down.Close()
	up, err := dialTCP(ctx, upstream)
	if err != nil {
		return err
	}
	defer up.Close()
	// Both directions, as a relay does; each half-closes when its side ends.
	var wg sync.WaitGroup
	errs := make([]error, 2)
	pipe := func(i int, dst, src *net.TCPConn) {
		defer wg.Done()
		_, errs[i] = io.Copy(dst, src) // TCPConn.ReadFrom(TCPConn): splice on Linux
		_ = dst.CloseWrite()
	}
	wg.Add(2)
	go pipe(0, up, down)
	go pipe(1, down, up)
	wg.Wait()
	return errors.Join(errs...)
}

func runSource(ctx context.Context, addr, file string) error {
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	tc, err := dialTCP(ctx, addr)
	if err != nil {
		return err
	}
	defer tc.Close()
	if _, err := io.Copy(tc, f); err != nil { // sendfile
		return err
	}
	return endSend(tc)
}

// dialTCP connects to addr with ctx's deadline on the connection.
func dialTCP(ctx context.Context, addr string) (*net.TCPConn, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	tc := c.(*net.TCPConn)
	if dl, ok := ctx.Deadline(); ok {
		_ = tc.SetDeadline(dl)
	}
	return tc, nil
}

// endSend closes the sending side and waits for the peer to close its own:
// then every byte has left this process.
func endSend(tc *net.TCPConn) error {
	if err := tc.CloseWrite(); err != nil {
		return err
	}
	_, err := io.Copy(io.Discard, tc)
	return err
}

// ceilingRun is one measurement of the ceiling.
type ceilingRun struct {
	Seconds float64 `json:"seconds"`
	MBps    float64 `json:"mb_per_s"`
	Source  usage   `json:"source"`
	Proxy   usage   `json:"proxy"`
	Sink    usage   `json:"sink"`
}

// ceilingResult is the median of several runs.
type ceilingResult struct {
	Bytes int64        `json:"bytes"`
	MBps  float64      `json:"mb_per_s"` // median
	Runs  []ceilingRun `json:"runs"`
	Error string       `json:"error,omitempty"`
}

// measureCeiling pushes file through source → proxy → sink runs times;
// sealed, it measures the encrypted ceiling (see sealed.go).
func measureCeiling(ctx context.Context, self, file string, size int64, runs int, sealed bool, timeout time.Duration, logDir string) ceilingResult {
	res := ceilingResult{Bytes: size}
	name := "ceiling"
	if sealed {
		name = "sealed-ceiling"
	}
	for i := range runs {
		r, err := ceilingOnce(ctx, self, file, size, sealed, timeout, filepath.Join(logDir, fmt.Sprintf("%s-%d", name, i)))
		if err != nil {
			res.Error = err.Error()
			return res
		}
		res.Runs = append(res.Runs, r)
	}
	res.MBps = medianMBps(res.Runs)
	return res
}

func medianMBps(runs []ceilingRun) float64 {
	if len(runs) == 0 {
		return 0
	}
	v := make([]float64, len(runs))
	for i, r := range runs {
		v[i] = r.MBps
	}
	sort.Float64s(v)
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}

func ceilingOnce(ctx context.Context, self, file string, size int64, sealed bool, timeout time.Duration, logPrefix string) (ceilingRun, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	internal := func(role string, extra ...string) []string {
		return append([]string{self, "-internal-role", role, "-internal-timeout", timeout.String()}, extra...)
	}
	var procs []*proc
	defer func() {
		for _, p := range procs {
			p.kill()
			<-p.done
			p.log.Close()
		}
	}()
	start := func(role string, argv []string, watch *lineWatcher) (*proc, error) {
		log, err := newProcLog(logPrefix + "-" + role + ".log")
		if err != nil {
			return nil, err
		}
		var extra io.Writer
		if watch != nil {
			extra = watch
		}
		sp := &spawner{self: self, usagePath: logPrefix + "-" + role + ".rusage.json"}
		p, err := startProc(ctx, "ceiling "+role, argv, log, extra, sp)
		if err != nil {
			log.Close()
			return nil, err
		}
		procs = append(procs, p)
		return p, nil
	}
	listening := func(role string, argv []string) (*proc, string, error) {
		w := newLineWatcher(listeningPrefix)
		p, err := start(role, argv, w)
		if err != nil {
			return nil, "", err
		}
		port, err := waitLine(ctx, w, p)
		if err != nil {
			return nil, "", err
		}
		if _, err := strconv.ParseUint(port, 10, 16); err != nil {
			return nil, "", fmt.Errorf("ceiling %s announced a bad port %q", role, port)
		}
		return p, net.JoinHostPort("127.0.0.1", port), nil
	}

	sourceRole, sinkRole, key := "source", "sink", ""
	if sealed {
		sourceRole, sinkRole, key = "sealed-source", "open-sink", newSealedKey()
	}
	sink, sinkAddr, err := listening("sink", internal(sinkRole, "-internal-expect", strconv.FormatInt(size, 10), "-internal-key", key))
	if err != nil {
		return ceilingRun{}, err
	}
	proxy, proxyAddr, err := listening("proxy", internal("proxy", "-internal-addr", sinkAddr))
	if err != nil {
		return ceilingRun{}, err
	}
	t0 := time.Now()
	source, err := start("source", internal(sourceRole, "-internal-addr", proxyAddr, "-internal-file", file, "-internal-key", key), nil)
	if err != nil {
		return ceilingRun{}, err
	}
	if err := sink.wait(ctx); err != nil {
		return ceilingRun{}, err
	}
	elapsed := sink.exited.Sub(t0)
	if err := source.wait(ctx); err != nil {
		return ceilingRun{}, err
	}
	if err := proxy.wait(ctx); err != nil {
		return ceilingRun{}, err
	}
	r := ceilingRun{Seconds: elapsed.Seconds(), MBps: mbps(size, elapsed)}
	var errs [3]error
	r.Source, errs[0] = source.usage()
	r.Proxy, errs[1] = proxy.usage()
	r.Sink, errs[2] = sink.usage()
	return r, errors.Join(errs[:]...)
}

// mbps is decimal megabytes per second.
func mbps(n int64, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / 1e6 / d.Seconds()
}
