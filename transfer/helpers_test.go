package transfer

import (
	"bytes"
	"context"
	"crypto/sha256"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/bob-p2p/bob/transfer/internal/chantest"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// events collects events; safe for concurrent use.
type events struct {
	mu  sync.Mutex
	all []Event
}

func (e *events) add(ev Event) {
	e.mu.Lock()
	e.all = append(e.all, ev)
	e.mu.Unlock()
}

func (e *events) list() []Event {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]Event(nil), e.all...)
}

// eventsOf returns the events of type T, in order.
func eventsOf[T Event](evs []Event) []T {
	var out []T
	for _, ev := range evs {
		if e, ok := ev.(T); ok {
			out = append(out, e)
		}
	}
	return out
}

type result struct {
	sendErr, recvErr error
	sender, receiver *chantest.End // sender's end counts what the sender wrote
	sendEv, recvEv   *events
}

// transfer runs Send and Receive against each other over an in-memory pair.
func transfer(t *testing.T, so SendOptions, ro ReceiveOptions) result {
	t.Helper()
	return transferCtx(t, context.Background(), context.Background(), so, ro, nil)
}

func transferCtx(t *testing.T, sctx, rctx context.Context, so SendOptions, ro ReceiveOptions, setup func(a, b *chantest.End)) result {
	t.Helper()
	a, b := chantest.Pair(64)
	if setup != nil {
		setup(a, b)
	}
	r := result{sender: a, receiver: b, sendEv: &events{}, recvEv: &events{}}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		r.sendErr = Send(sctx, a, so, r.sendEv.add)
	}()
	r.recvErr = Receive(rctx, b, ro, r.recvEv.add)
	wg.Wait()
	a.Close()
	return r
}

func mustOK(t *testing.T, r result) {
	t.Helper()
	if r.sendErr != nil || r.recvErr != nil {
		t.Fatalf("send: %v\nreceive: %v", r.sendErr, r.recvErr)
	}
}

func writeFile(t *testing.T, path string, data []byte, mode fs.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
	mt := time.Date(2020, 1, 2, 3, 4, 5, 600, time.UTC)
	if err := os.Chtimes(path, mt, mt); err != nil {
		t.Fatal(err)
	}
}

func randBytes(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	b := make([]byte, n)
	for i := 0; i+8 <= n; i += 8 {
		v := r.Uint64()
		for j := range 8 {
			b[i+j] = byte(v >> (8 * j))
		}
	}
	for i := n &^ 7; i < n; i++ {
		b[i] = byte(r.Uint32())
	}
	return b
}

// compressible returns text-like data that zstd shrinks well.
func compressible(n int) []byte {
	var b bytes.Buffer
	for i := 0; b.Len() < n; i++ {
		b.WriteString("func handler(w http.ResponseWriter, r *http.Request) { // line ")
		b.WriteString(string(rune('a' + i%26)))
		b.WriteString("\n")
	}
	return b.Bytes()[:n]
}

// treeInfo describes a tree for comparison: path → kind, size, perm, mtime, content hash.
type nodeInfo struct {
	dir   bool
	size  int64
	exec  bool
	mtime time.Time
	sum   [32]byte
}

func readTree(t *testing.T, root string) map[string]nodeInfo {
	t.Helper()
	out := make(map[string]nodeInfo)
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if rel == "." {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		n := nodeInfo{dir: d.IsDir(), mtime: info.ModTime()}
		if !d.IsDir() {
			n.size = info.Size()
			n.exec = info.Mode()&0o100 != 0
			f, err := os.Open(p)
			if err != nil {
				return err
			}
			h := sha256.New()
			_, err = io.Copy(h, f)
			f.Close()
			if err != nil {
				return err
			}
			copy(n.sum[:], h.Sum(nil))
		}
		out[filepath.ToSlash(rel)] = n
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	var k []string
	for s := range m {
		k = append(k, s)
	}
	sort.Strings(k)
	return k
}

// sameTree asserts that got (received into its own folder) equals want,
// with contents, exec bits and file times.
func sameTree(t *testing.T, want, got string) {
	t.Helper()
	w, g := readTree(t, want), readTree(t, got)
	for _, k := range sortedKeys(w) {
		wn, ok := g[k]
		if !ok {
			t.Errorf("missing %q", k)
			continue
		}
		n := w[k]
		if n.dir != wn.dir || n.size != wn.size || n.sum != wn.sum || n.exec != wn.exec {
			t.Errorf("%q differs: want %+v got %+v", k, n, wn)
		}
		if !n.dir && !n.mtime.Equal(wn.mtime) {
			t.Errorf("%q mtime: want %v got %v", k, n.mtime, wn.mtime)
		}
	}
	for _, k := range sortedKeys(g) {
		if _, ok := w[k]; !ok {
			t.Errorf("unexpected %q", k)
		}
	}
}

// memTempDir is a temporary folder in memory (/dev/shm) where there is one:
// tests of many small files measure bob, not the disk's file creation.
func memTempDir(t testing.TB) string {
	t.Helper()
	if info, err := os.Stat("/dev/shm"); err == nil && info.IsDir() {
		if d, err := os.MkdirTemp("/dev/shm", "bob-test-"); err == nil {
			t.Cleanup(func() { os.RemoveAll(d) })
			return d
		}
	}
	return t.TempDir()
}
