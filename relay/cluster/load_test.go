package cluster_test

import (
	"context"
	"fmt"
	"math"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestLoadThreeNodes pairs 1,000 senders and receivers through a
// round-robin front over three nodes (200 with -short), verifies every
// payload, and
// checks that no node keeps a connection, goroutine or descriptor after.
func TestLoadThreeNodes(t *testing.T) {
	pairs, workers := 1000, 24
	if testing.Short() {
		pairs = 200
	}
	members := startNATS(t, 3)
	urls := natsURLs(members)
	// Warm up: the bucket and its replicas exist before the baseline.
	warm := startNode(t, urls, nodeOpts{})
	waitReady(t, warm)
	warm.stop()
	eventually(t, 10*time.Second, "warm-up node gone", func() error { return ourGoroutines() })
	baseFDs := openFDs(t)

	nodes := []*node{startNode(t, urls, nodeOpts{}), startNode(t, urls, nodeOpts{}), startNode(t, urls, nodeOpts{})}
	waitReady(t, nodes[0])
	f := startFront(t, nodes[0].addr, nodes[1].addr, nodes[2].addr)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	jobs := make(chan int)
	errs := make(chan error, pairs)
	var wg sync.WaitGroup
	start := time.Now()
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				data := payload(t, 8<<10+i)
				if np, err := pairUp(ctx, f.addr(), f.addr(), data); err != nil {
					errs <- fmt.Errorf("pair %d (nameplate %s): %w", i, np, err)
				}
			}
		}()
	}
	for i := range pairs {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	close(errs)
	n := 0
	for err := range errs {
		if n++; n <= 5 {
			t.Error(err)
		}
	}
	if n > 0 {
		t.Fatalf("%d of %d pairs failed", n, pairs)
	}
	elapsed := time.Since(start)
	var forwarded float64
	for _, nd := range nodes {
		forwarded += nd.forwarded("to")
	}
	p50, p99 := claimQuantiles(t, nodes)
	t.Logf("%d pairs in %v (%.0f pairs/s), %v forwarded; claim latency p50 %.2f ms, p99 %.2f ms",
		pairs, elapsed.Round(time.Millisecond), float64(pairs)/elapsed.Seconds(), forwarded, p50*1e3, p99*1e3)

	for i, nd := range nodes {
		eventually(t, 10*time.Second, fmt.Sprintf("node %d to close every connection", i), func() error {
			if v := counter(nd.srv, "bob_relay_connections", "", ""); v != 0 {
				return fmt.Errorf("bob_relay_connections = %v", v)
			}
			return nil
		})
	}
	f.close()
	for _, nd := range nodes {
		nd.stop()
	}
	eventually(t, 10*time.Second, "relay and NATS client goroutines to end", ourGoroutines)
	eventually(t, 10*time.Second, "descriptors back to the baseline", func() error {
		// Pooled splice pipes close when collected; they are not leaks.
		runtime.GC()
		runtime.GC()
		if now := openFDs(t); now > baseFDs {
			return fmt.Errorf("%d descriptors open, %d before the nodes started: %s", now, baseFDs, fdKinds())
		}
		return nil
	})
}

// ourGoroutines reports goroutines of the relay, the cluster node or the
// NATS client still running; the embedded NATS servers' own are not ours.
func ourGoroutines() error {
	buf := make([]byte, 1<<22)
	buf = buf[:runtime.Stack(buf, true)]
	var left []string
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "relay/cluster_test.ourGoroutines") {
			continue
		}
		if strings.Contains(g, "github.com/bob-p2p/bob/relay.") ||
			strings.Contains(g, "github.com/bob-p2p/bob/relay/cluster.") ||
			strings.Contains(g, "github.com/nats-io/nats.go") {
			left = append(left, g)
		}
	}
	if len(left) > 0 {
		return fmt.Errorf("%d goroutines left, the first:\n%s", len(left), left[0])
	}
	return nil
}

// claimQuantiles estimates the claim latency's median and 99th percentile
// from the nodes' histograms.
func claimQuantiles(t testing.TB, nodes []*node) (p50, p99 float64) {
	t.Helper()
	var bounds []float64
	var counts []uint64
	var total uint64
	for _, nd := range nodes {
		mfs, err := nd.srv.Registry().Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, mf := range mfs {
			if mf.GetName() != "bob_relay_cluster_claim_seconds" {
				continue
			}
			h := mf.GetMetric()[0].GetHistogram()
			if bounds == nil {
				for _, b := range h.GetBucket() {
					bounds = append(bounds, b.GetUpperBound())
				}
				counts = make([]uint64, len(bounds))
			}
			for i, b := range h.GetBucket() {
				counts[i] += b.GetCumulativeCount()
			}
			total += h.GetSampleCount()
		}
	}
	q := func(p float64) float64 {
		rank := uint64(math.Ceil(p * float64(total)))
		for i, c := range counts {
			if c >= rank {
				return bounds[i]
			}
		}
		return math.Inf(1)
	}
	return q(0.5), q(0.99)
}
