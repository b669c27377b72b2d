//go:build unix

package cluster_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/bob-p2p/bob/relay/rendezvous"
)

// BenchmarkExtraHop measures what forwarding a receiver to its sender's
// node costs: MB/s of one pair, and CPU seconds per GiB for the whole
// process (both relays and both clients), same-node against forwarded.
//
//	go test -run '^$' -bench ExtraHop ./relay/cluster/
func BenchmarkExtraHop(b *testing.B) {
	_, a, c := twoNodes(b, 0)
	const size = 64 << 20
	chunk := make([]byte, 1<<20)
	for _, bc := range []struct {
		name     string
		recvAddr string
	}{{"same-node", a.addr}, {"forwarded", c.addr}} {
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(size)
			cpu0 := cpuTime(b)
			for b.Loop() {
				if err := pipeBytes(a.addr, bc.recvAddr, chunk, size); err != nil {
					b.Fatal(err)
				}
			}
			cpu := cpuTime(b) - cpu0
			b.ReportMetric(cpu.Seconds()/(float64(b.N)*size/(1<<30)), "cpu-s/GiB")
		})
	}
}

// pipeBytes pairs a sender at sendAddr with a receiver at recvAddr and
// sends size bytes through.
func pipeBytes(sendAddr, recvAddr string, chunk []byte, size int) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	o, err := openSender(ctx, sendAddr, "")
	if err != nil {
		return err
	}
	defer o.conn.Close()
	rc, err := net.Dial("tcp", recvAddr)
	if err != nil {
		return err
	}
	defer rc.Close()
	got := make(chan error, 1)
	go func() {
		if err := rendezvous.Claim(ctx, rc, o.nameplate, ""); err != nil {
			got <- err
			return
		}
		n, err := io.Copy(io.Discard, rc)
		if err == nil && n != int64(size) {
			err = fmt.Errorf("received %d of %d bytes", n, size)
		}
		got <- err
	}()
	if err := rendezvous.WaitPaired(ctx, o.conn); err != nil {
		return err
	}
	for sent := 0; sent < size; sent += len(chunk) {
		if _, err := o.conn.Write(chunk); err != nil {
			return err
		}
	}
	if err := o.conn.(*net.TCPConn).CloseWrite(); err != nil {
		return err
	}
	return <-got
}

// cpuTime returns the user and system CPU time this process has used.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkClaim measures one claim and its release, one at a time, on a
// three-member JetStream cluster: the allocation cost without contention.
func BenchmarkClaim(b *testing.B) {
	members := startNATS(b, 3)
	n := startNode(b, natsURLs(members), nodeOpts{})
	waitReady(b, n)
	ctx := context.Background()
	for b.Loop() {
		name, err := n.cl.Claim(ctx, "")
		if err != nil {
			b.Fatal(err)
		}
		n.cl.Release(name)
	}
}
