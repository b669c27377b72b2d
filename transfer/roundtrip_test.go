package transfer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bob-p2p/bob/transfer/internal/chantest"
)

func TestRoundTripTree(t *testing.T) {
	src := t.TempDir()
	tree := filepath.Join(src, "tree")
	writeFile(t, filepath.Join(tree, "empty.txt"), nil, 0o644)
	writeFile(t, filepath.Join(tree, "run.sh"), []byte("#!/bin/sh\necho hi\n"), 0o755)
	writeFile(t, filepath.Join(tree, "Ünïcødé ✓/with space.txt"), []byte("héllo"), 0o644)
	writeFile(t, filepath.Join(tree, "-leading-dash"), []byte("dash"), 0o600)
	writeFile(t, filepath.Join(tree, "random.bin"), randBytes(1, 300_000), 0o644)
	writeFile(t, filepath.Join(tree, "source.go"), compressible(500_000), 0o644)
	deep := tree
	for i := range 60 {
		deep = filepath.Join(deep, fmt.Sprintf("d%d", i))
	}
	writeFile(t, filepath.Join(deep, "leaf"), []byte("deep"), 0o644)
	if err := os.MkdirAll(filepath.Join(tree, "empty-dir", "empty-child"), 0o755); err != nil {
		t.Fatal(err)
	}
	single := filepath.Join(src, "single.txt")
	writeFile(t, single, []byte("one file"), 0o644)

	for _, mode := range []Compression{CompressAuto, CompressOn, CompressOff} {
		t.Run(string(mode), func(t *testing.T) {
			out := t.TempDir()
			r := transfer(t, SendOptions{Paths: []string{tree, single}, Compress: mode}, ReceiveOptions{OutDir: out})
			mustOK(t, r)
			sameTree(t, src, out)
			if mode == "on" && r.sender.Stats.Bytes(recData) > 700_000 {
				t.Errorf("compression on: %d data bytes crossed for ~800 kB of which 500 kB compressible", r.sender.Stats.Bytes(recData))
			}
			if mode == "off" && r.sender.Stats.Bytes(recData) < 800_000 {
				t.Errorf("compression off: only %d data bytes crossed", r.sender.Stats.Bytes(recData))
			}
			assertNoParts(t, out)
		})
	}
}

func assertNoParts(t *testing.T, dir string) {
	t.Helper()
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && strings.HasSuffix(p, partSuffix) {
			t.Errorf("leftover part file %s", p)
		}
		return nil
	})
}

func TestText(t *testing.T) {
	msg := "hello \x1b[31mworld\n…"
	var stdout strings.Builder
	r := transfer(t, SendOptions{Text: msg, IsText: true}, ReceiveOptions{OutDir: t.TempDir(), Stdout: &stdout})
	mustOK(t, r)
	if stdout.String() != msg {
		t.Errorf("stdout %q", stdout.String())
	}
	var got []string
	var offered bool
	for _, ev := range r.recvEv.list() {
		switch ev := ev.(type) {
		case TextReceived:
			got = append(got, ev.Text)
		case OfferReceived:
			offered = ev.IsText
		}
	}
	if len(got) != 1 || got[0] != msg || !offered {
		t.Errorf("text events %q, offer says text: %v", got, offered)
	}

	// Without Stdout: only the event, nothing on disk.
	out := t.TempDir()
	r = transfer(t, SendOptions{Text: "", IsText: true}, ReceiveOptions{OutDir: out})
	mustOK(t, r)
	if ents, _ := os.ReadDir(out); len(ents) != 0 {
		t.Errorf("text wrote files: %v", ents)
	}
}

// slowReader returns data in small, irregular pieces, like a pipe.
type slowReader struct {
	data []byte
	i    int
}

func (s *slowReader) Read(p []byte) (int, error) {
	if len(s.data) == 0 {
		return 0, io.EOF
	}
	s.i++
	n := min(len(p), len(s.data), 1+s.i*977%9000)
	copy(p, s.data[:n])
	s.data = s.data[n:]
	return n, nil
}

func TestStream(t *testing.T) {
	data := append(randBytes(2, 200_000), compressible(300_000)...)
	t.Run("stdout", func(t *testing.T) {
		var out bytes.Buffer
		r := transfer(t, SendOptions{Stdin: &slowReader{data: data}}, ReceiveOptions{Stdout: &out})
		mustOK(t, r)
		if !bytes.Equal(out.Bytes(), data) {
			t.Fatalf("stream: got %d bytes, want %d", out.Len(), len(data))
		}
	})
	t.Run("file", func(t *testing.T) {
		dir := t.TempDir()
		r := transfer(t, SendOptions{Stdin: &slowReader{data: data}, StreamName: "backup.tar"}, ReceiveOptions{OutDir: dir})
		mustOK(t, r)
		got, err := os.ReadFile(filepath.Join(dir, "backup.tar"))
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("stream to file: %v, %d bytes", err, len(got))
		}
		for _, ev := range r.recvEv.list() {
			if o, ok := ev.(OfferReceived); ok && (!o.IsStream || o.TotalBytes != -1) {
				t.Errorf("offer event %+v", o)
			}
		}
		// The size is unknown when offered, but not once the stream ended.
		for side, evs := range map[string]*events{"sender": r.sendEv, "receiver": r.recvEv} {
			var done []FileDone
			for _, ev := range evs.list() {
				if fd, ok := ev.(FileDone); ok {
					done = append(done, fd)
				}
			}
			if len(done) != 1 || done[0].Path != "backup.tar" || done[0].Size != int64(len(data)) {
				t.Errorf("%s: file done events %+v, want backup.tar of %d bytes", side, done, len(data))
			}
		}
	})
	t.Run("empty", func(t *testing.T) {
		var out bytes.Buffer
		r := transfer(t, SendOptions{Stdin: strings.NewReader("")}, ReceiveOptions{Stdout: &out})
		mustOK(t, r)
		if out.Len() != 0 {
			t.Fatal("empty stream produced output")
		}
	})
}

func TestFileToStdout(t *testing.T) {
	src := filepath.Join(t.TempDir(), "f.bin")
	data := randBytes(3, 150_000)
	writeFile(t, src, data, 0o644)
	var out bytes.Buffer
	r := transfer(t, SendOptions{Paths: []string{src}}, ReceiveOptions{Stdout: &out})
	mustOK(t, r)
	if !bytes.Equal(out.Bytes(), data) {
		t.Fatal("stdout differs")
	}
	// A folder cannot go to stdout: refused before any data.
	r = transfer(t, SendOptions{Paths: []string{filepath.Dir(src)}}, ReceiveOptions{Stdout: &out})
	if !errors.Is(r.recvErr, ErrUnsafeOffer) || !errors.Is(r.sendErr, ErrUnsafeOffer) {
		t.Fatalf("folder to stdout: %v / %v", r.sendErr, r.recvErr)
	}
}

func TestManySmallFiles(t *testing.T) {
	src := memTempDir(t)
	n := 10_000
	for i := range n {
		dir := filepath.Join(src, "many", fmt.Sprintf("d%02d", i%50))
		if i < 50 {
			os.MkdirAll(dir, 0o755)
		}
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("f%05d", i)), randBytes(uint64(i), i%2000), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	out := memTempDir(t)
	r := transfer(t, SendOptions{Paths: []string{filepath.Join(src, "many")}}, ReceiveOptions{OutDir: out})
	mustOK(t, r)
	sameTree(t, src, out)
	var sent, received int
	for _, ev := range r.sendEv.list() {
		if _, ok := ev.(FileDone); ok {
			sent++
		}
	}
	for _, ev := range r.recvEv.list() {
		if _, ok := ev.(FileDone); ok {
			received++
		}
	}
	if sent != n || received != n {
		t.Errorf("FileDone events: sender %d receiver %d, want %d", sent, received, n)
	}
}

func TestSparseOver4GiB(t *testing.T) {
	src := filepath.Join(t.TempDir(), "sparse.img")
	const size = 4<<30 + 12345
	f, err := os.Create(src)
	if err != nil {
		t.Fatal(err)
	}
	// A little data at both ends, holes between.
	f.WriteAt([]byte("start"), 0)
	f.WriteAt([]byte("end"), size-3)
	if err := f.Truncate(size); err != nil {
		t.Fatal(err)
	}
	f.Close()
	out := t.TempDir()
	r := transfer(t, SendOptions{Paths: []string{src}}, ReceiveOptions{OutDir: out})
	mustOK(t, r)
	got := filepath.Join(out, "sparse.img")
	info, err := os.Stat(got)
	if err != nil || info.Size() != size {
		t.Fatalf("stat: %v %v", info, err)
	}
	g, _ := os.Open(got)
	defer g.Close()
	buf := make([]byte, 5)
	g.ReadAt(buf, 0)
	tail := make([]byte, 3)
	g.ReadAt(tail, size-3)
	if string(buf) != "start" || string(tail) != "end" {
		t.Fatalf("content %q %q", buf, tail)
	}
	if w := r.sender.Stats.Bytes(recData); w > 1<<20 {
		t.Errorf("%d data bytes crossed for a sparse file", w)
	}
}

// blockingReader blocks until released, like an idle terminal.
type blockingReader struct{ release chan struct{} }

func (b blockingReader) Read(p []byte) (int, error) {
	<-b.release
	return 0, io.EOF
}

func TestCancelWhileStdinBlocks(t *testing.T) {
	in := blockingReader{release: make(chan struct{})}
	defer close(in.release) // lets the pump end before the leak check
	ctx, cancel := context.WithCancel(context.Background())
	var out bytes.Buffer
	// Cancel once the stream has started: the sender is blocked reading.
	r := transferCtx(t, ctx, context.Background(), SendOptions{Stdin: in}, ReceiveOptions{Stdout: &out},
		func(a, b *chantest.End) {
			a.CutWhen(func(from *chantest.End, typ byte, _ []byte) bool {
				if typ == recFileStart {
					cancel()
				}
				return false
			})
		})
	if !errors.Is(r.sendErr, context.Canceled) || !errors.Is(r.recvErr, ErrCancelledByPeer) {
		t.Fatalf("got %v / %v", r.sendErr, r.recvErr)
	}
}

// TestProgressCountsFiles checks that progress numbers files among files:
// folders in the offer do not push "file N of M" past M.
func TestProgressCountsFiles(t *testing.T) {
	src := t.TempDir()
	for _, d := range []string{"a", "a/b", "c"} {
		if err := os.MkdirAll(filepath.Join(src, "tree", d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for i, f := range []string{"a/1", "a/b/2", "c/3", "4"} {
		writeFile(t, filepath.Join(src, "tree", f), randBytes(uint64(i), 3000), 0o644)
	}
	r := transfer(t, SendOptions{Paths: []string{filepath.Join(src, "tree")}}, ReceiveOptions{OutDir: t.TempDir()})
	mustOK(t, r)
	for side, evs := range map[string]*events{"sender": r.sendEv, "receiver": r.recvEv} {
		last := 0
		for _, ev := range evs.list() {
			p, ok := ev.(Progress)
			if !ok || p.FileIndex == 0 {
				continue
			}
			if p.Files != 4 || p.FileIndex > p.Files || p.FileIndex < last {
				t.Fatalf("%s: progress says file %d of %d (after file %d)", side, p.FileIndex, p.Files, last)
			}
			last = p.FileIndex
		}
		if last != 4 {
			t.Fatalf("%s: the last progress was about file %d, want 4", side, last)
		}
	}
}
