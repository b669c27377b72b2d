package transfer

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/bob-p2p/bob/transfer/internal/chantest"
	"github.com/zeebo/blake3"
)

// BenchmarkHash: xxh3 is the whole-file checksum every byte goes through;
// blake3 hashes resume prefixes; sha256 for comparison.
func BenchmarkHash(b *testing.B) {
	block := randBytes(9, blockSize)
	for _, h := range []struct {
		name string
		w    io.Writer
	}{{"xxh3", newFileSum()}, {"blake3", blake3.New()}, {"sha256", sha256.New()}} {
		b.Run(h.name, func(b *testing.B) {
			b.SetBytes(int64(len(block)))
			for b.Loop() {
				h.w.Write(block)
			}
		})
	}
}

func BenchmarkCompress(b *testing.B) {
	enc, err := newEncoder(1)
	if err != nil {
		b.Fatal(err)
	}
	defer enc.Close()
	dec, _ := newDecoder()
	defer dec.Close()
	for _, in := range []struct {
		name string
		data []byte
	}{{"text", compressible(blockSize)}, {"random", randBytes(10, blockSize)}} {
		out := make([]byte, 0, MaxRecordPayload+1024)
		b.Run("zstd/"+in.name, func(b *testing.B) {
			b.SetBytes(blockSize)
			for b.Loop() {
				out = enc.EncodeAll(in.data, out[:0])
			}
			b.ReportMetric(float64(len(out))/blockSize, "ratio")
		})
		comp := enc.EncodeAll(in.data, nil)
		buf := make([]byte, 0, blockSize)
		b.Run("unzstd/"+in.name, func(b *testing.B) {
			b.SetBytes(blockSize)
			for b.Loop() {
				if _, err := dec.DecodeAll(comp, buf[:0]); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkPipeline runs Send and Receive over an in-memory channel: the
// whole data path without network or crypto. "discard" writes to an
// io.Discard stdout; "disk" writes files (to /dev/shm where there is one).
func BenchmarkPipeline(b *testing.B) {
	dir := b.TempDir()
	const size = 64 << 20
	inputs := map[string][]byte{"random": randBytes(11, size), "text": compressible(size)}
	for _, name := range []string{"random", "text"} {
		src := filepath.Join(dir, name)
		if err := os.WriteFile(src, inputs[name], 0o644); err != nil {
			b.Fatal(err)
		}
		for _, mode := range []Compression{CompressOff, CompressAuto, CompressOn} {
			for _, sink := range []string{"discard", "disk"} {
				b.Run(fmt.Sprintf("%s/%s/%s", name, mode, sink), func(b *testing.B) {
					b.SetBytes(size)
					var wire int64
					for b.Loop() {
						ro := ReceiveOptions{Stdout: io.Discard}
						if sink == "disk" {
							ro = ReceiveOptions{OutDir: memTempDir(b), Overwrite: true}
						}
						wire += benchTransfer(b, SendOptions{Paths: []string{src}, Compress: mode}, ro)
					}
					b.ReportMetric(float64(wire)/float64(b.N)/size, "wire/byte")
				})
			}
		}
	}
}

func BenchmarkSmallFiles(b *testing.B) {
	src := memTempDir(b)
	const n = 2000
	for i := range n {
		sub := filepath.Join(src, "small", fmt.Sprintf("d%d", i%20))
		os.MkdirAll(sub, 0o755)
		os.WriteFile(filepath.Join(sub, fmt.Sprintf("f%d", i)), randBytes(uint64(i), 4096), 0o644)
	}
	for b.Loop() {
		benchTransfer(b, SendOptions{Paths: []string{filepath.Join(src, "small")}}, ReceiveOptions{OutDir: memTempDir(b)})
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "files/s")
}

func benchTransfer(b *testing.B, so SendOptions, ro ReceiveOptions) int64 {
	a, c := chantest.Pair(64)
	defer a.Close()
	var wg sync.WaitGroup
	var serr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		serr = Send(context.Background(), a, so, nil)
	}()
	rerr := Receive(context.Background(), c, ro, nil)
	wg.Wait()
	if serr != nil || rerr != nil {
		b.Fatal(serr, rerr)
	}
	return a.Stats.Bytes(recData)
}

// BenchmarkFileSink writes a 64 MiB part file in records, as the receiver
// does, through the sink a large new file gets (direct I/O on Linux where
// the file system takes it) and through ordinary writes, both synced. It
// uses the temp dir, a real disk more often than /dev/shm.
func BenchmarkFileSink(b *testing.B) {
	const size = 64 << 20
	data := randBytes(12, size)
	for _, mode := range []string{"direct", "buffered"} {
		b.Run(mode, func(b *testing.B) {
			dir := b.TempDir()
			var buf []byte
			b.SetBytes(size)
			for b.Loop() {
				f, err := os.Create(filepath.Join(dir, "f.bob-part"))
				if err != nil {
					b.Fatal(err)
				}
				s := &fileSink{f: f}
				if mode == "direct" {
					s = newFileSink(f, size, &buf, nil)
				}
				for p := data; len(p) > 0; {
					n := min(len(p), MaxRecordPayload-1)
					if err := s.write(p[:n]); err != nil {
						b.Fatal(err)
					}
					p = p[n:]
				}
				if err := s.finish(); err != nil {
					b.Fatal(err)
				}
				if err := f.Sync(); err != nil {
					b.Fatal(err)
				}
				f.Close()
			}
		})
	}
}
