package transfer

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/bob-p2p/bob/transfer/internal/sysio"
)

// sinkStep is one call on a sink: data to write, or a run of zeros. held
// data is passed as the receiver passes records: in a pooled record
// buffer, at the offset the channel decrypts data to, through hold.
type sinkStep struct {
	data  []byte
	zeros int
	held  bool
}

// testRecords hands out record buffers as the receiver's channel does and
// counts those not given back.
type testRecords struct {
	pool *bufPool
	out  int
	kept int // records the sink kept rather than copied
}

func newTestRecords() *testRecords {
	return &testRecords{pool: newAlignedBufPool(recvLead+1+MaxRecordPayload, 64, directAlign)}
}

// hold passes p to s in a record buffer.
func (r *testRecords) hold(s *fileSink, p []byte) error {
	b := r.pool.get()
	r.out++
	data := (*b)[recvLead+2:]
	data = data[:copy(data, p)]
	kept, err := s.hold(data, b)
	if kept {
		r.kept++
	} else {
		r.release(b)
	}
	return err
}

func (r *testRecords) release(b *[]byte) {
	r.out--
	r.pool.put(b)
}

func (r *testRecords) sink(f *os.File, size int64, buf *[]byte) *fileSink {
	return newFileSink(f, size, buf, r.release)
}

// newTestSink creates a part file in a temporary folder and its sink for a
// file of size bytes; the file is closed when t ends.
func newTestSink(t *testing.T, size int64) (s *fileSink, recs *testRecords, path string) {
	t.Helper()
	path = filepath.Join(t.TempDir(), "f.bob-part")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	var buf []byte
	recs = newTestRecords()
	return recs.sink(f, size, &buf), recs, path
}

// feed makes the calls of steps on s.
func (r *testRecords) feed(t *testing.T, s *fileSink, steps []sinkStep) {
	t.Helper()
	for _, st := range steps {
		var err error
		switch {
		case st.held:
			err = r.hold(s, st.data)
		case st.data != nil:
			err = s.write(st.data)
		default:
			err = s.zeros(st.zeros)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

// checkReturned fails t if record buffers are still out after what.
func (r *testRecords) checkReturned(t *testing.T, what string) {
	t.Helper()
	if r.out != 0 {
		t.Errorf("%d record buffers not given back %s", r.out, what)
	}
}

// sameFile fails t unless the file at path holds want.
func sameFile(t *testing.T, path string, want []byte) {
	t.Helper()
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("the file (%d bytes) differs from what was written (%d bytes)", len(got), len(want))
	}
}

// runSink feeds steps to a new sink of a file of their total size and
// returns the file's content after finish, and whether it began in direct
// mode.
func runSink(t *testing.T, steps []sinkStep) (got, want []byte, direct bool, kept int) {
	t.Helper()
	for _, st := range steps {
		want = append(want, st.data...)
		want = append(want, make([]byte, st.zeros)...)
	}
	s, recs, path := newTestSink(t, int64(len(want)))
	defer s.Close()
	direct = s.directOn
	recs.feed(t, s, steps)
	if err := s.finish(); err != nil {
		t.Fatal(err)
	}
	if s.directOn {
		t.Error("still in direct mode after finish")
	}
	recs.checkReturned(t, "after finish")
	kept = recs.kept
	if err := s.f.Truncate(int64(len(want))); err != nil { // as commit does for holes
		t.Fatal(err)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return got, want, direct, kept
}

// directSupported says whether the file system of t's temporary folder
// takes O_DIRECT.
func directSupported(t *testing.T) bool {
	f, err := os.Create(filepath.Join(t.TempDir(), "probe"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	return sysio.SetDirect(f, true) == nil
}

func TestFileSinkDirect(t *testing.T) {
	supported := directSupported(t)
	if runtime.GOOS == "linux" && !supported {
		t.Log("this file system refuses O_DIRECT: only the ordinary writes are tested")
	}
	big := randBytes(5, directMinSize+3*directBufSize+777)
	for _, c := range []struct {
		name  string
		steps []sinkStep
	}{
		{"records", chunked(big, 65518)},
		{"one write", []sinkStep{{data: big}}},
		{"aligned hole", append(append(chunked(big[:2*directBufSize], 65536), sinkStep{zeros: 5 * directAlign}), chunked(big[2*directBufSize:], 65536)...)},
		{"odd hole", append(append(chunked(big[:directMinSize], 65518), sinkStep{zeros: 100}), chunked(big[directMinSize:], 65518)...)},
		{"hole at odd offset", append(append(chunked(big[:12345], 4000), sinkStep{zeros: 8192}), chunked(big[12345:], 65536)...)},
		{"ends with a hole", append(chunked(big, 65536), sinkStep{zeros: 3 * directAlign})},
		{"small file", chunked(big[:directMinSize-1], 65518)},
		{"held records", heldChunks(big, sendBlockSize)},
		{"held small file", heldChunks(big[:directMinSize-1], sendBlockSize)},
		{"held and copied", append(append(heldChunks(big[:3*directBufSize], sendBlockSize), chunked(big[3*directBufSize:directMinSize], 65518)...), heldChunks(big[directMinSize:], sendBlockSize)...)},
		{"held odd records", heldChunks(big, 65517)},
		{"held around an aligned hole", append(append(heldChunks(big[:2*directBufSize], sendBlockSize), sinkStep{zeros: 3 * directAlign}), heldChunks(big[2*directBufSize:], sendBlockSize)...)},
		{"held around an odd hole", append(append(heldChunks(big[:2*directBufSize], sendBlockSize), sinkStep{zeros: 1000}), heldChunks(big[2*directBufSize:], sendBlockSize)...)},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, want, direct, kept := runSink(t, c.steps)
			if !bytes.Equal(got, want) {
				t.Fatalf("the file (%d bytes) differs from what was written (%d bytes)", len(got), len(want))
			}
			if wantDirect := supported && len(want) >= directMinSize; direct != wantDirect {
				t.Errorf("direct mode = %v for a file of %d bytes, want %v", direct, len(want), wantDirect)
			}
			// Aligned records of a direct-mode file go to the disk
			// without a copy; anything else is copied.
			allHeld := true
			for _, st := range c.steps {
				allHeld = allHeld && (st.held || st.zeros > 0)
			}
			if direct && allHeld && !strings.Contains(c.name, "odd") && kept < len(c.steps)/2 {
				t.Errorf("the sink kept %d of %d aligned records; the rest were copied", kept, len(c.steps))
			}
			if (!direct || !allHeld) && !strings.Contains(c.name, "held") && kept != 0 {
				t.Errorf("the sink kept %d records out of direct mode", kept)
			}
		})
	}
}

// A transfer that stops part way closes the sink without finish: the part
// file must hold a clean prefix of the data, to resume from.
func TestFileSinkDirectAbortLeavesPrefix(t *testing.T) {
	data := randBytes(6, directMinSize+directBufSize/2)
	s, recs, path := newTestSink(t, int64(len(data))*2)
	// Copied records, then held ones: both kinds are pending at the cut.
	half := directMinSize / 2
	recs.feed(t, s, append(chunked(data[:half+100], 65518), heldChunks(data[half+100:], sendBlockSize)...))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	recs.checkReturned(t, "by Close")
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) > len(data) || !bytes.Equal(got, data[:len(got)]) {
		t.Fatalf("the part file's %d bytes are not a prefix of the data", len(got))
	}
}

func TestAlignedBuffer(t *testing.T) {
	for range 4 {
		b := alignedBuffer(directBufSize, directAlign)
		if len(b) != directBufSize || cap(b) != directBufSize {
			t.Fatalf("len %d cap %d", len(b), cap(b))
		}
		if runtime.GOOS == "linux" && sysio.AddressOf(b)%directAlign != 0 {
			t.Fatalf("buffer at %#x is not aligned to %d", sysio.AddressOf(b), directAlign)
		}
	}
}

// heldChunks is chunked with every step held.
func heldChunks(b []byte, n int) []sinkStep {
	steps := chunked(b, n)
	for i := range steps {
		steps[i].held = true
	}
	return steps
}

func chunked(b []byte, n int) []sinkStep {
	var out []sinkStep
	for len(b) > 0 {
		k := min(n, len(b))
		out = append(out, sinkStep{data: b[:k]})
		b = b[k:]
	}
	return out
}

// Random runs of writes and holes of every size and alignment, through a
// sink in direct mode, leave exactly the bytes written.
func TestFileSinkDirectRandomRuns(t *testing.T) {
	for seed := range uint64(6) {
		rng := rand.New(rand.NewPCG(seed, 99))
		var steps []sinkStep
		total := 0
		for total < directMinSize+directBufSize {
			switch k := rng.IntN(10); {
			case k == 0: // a hole, often whole blocks
				n := 1 + rng.IntN(3*directAlign)
				if rng.IntN(2) == 0 {
					n = directAlign * (1 + rng.IntN(20))
				}
				steps = append(steps, sinkStep{zeros: n})
				total += n
			case k < 5: // a record as a peer might send it: held if it can be
				n := 1 + rng.IntN(blockSize)
				if rng.IntN(2) == 0 {
					n = directAlign * (1 + rng.IntN(blockSize/directAlign))
				}
				steps = append(steps, sinkStep{data: randBytes(seed<<32|uint64(len(steps)), n), held: true})
				total += n
			default:
				n := 1 + rng.IntN(blockSize)
				steps = append(steps, sinkStep{data: randBytes(seed<<32|uint64(len(steps)), n)})
				total += n
			}
		}
		got, want, _, _ := runSink(t, steps)
		if !bytes.Equal(got, want) {
			t.Fatalf("seed %d: the file (%d bytes) differs from what was written (%d bytes)", seed, len(got), len(want))
		}
	}
}

// A file system may take O_DIRECT and then refuse the writes (EINVAL).
// Misaligned memory makes Linux do just that: for copied data, a copy
// buffer off the alignment; for held records, the sink's alignment check
// lowered so that a misaligned record reaches pwritev. The sink must carry
// on with ordinary writes and lose nothing.
func TestFileSinkDirectRefused(t *testing.T) {
	if !directSupported(t) {
		t.Skip("this file system refuses O_DIRECT outright; the refusal path after accepting it cannot be provoked here")
	}
	want := randBytes(8, directMinSize+999)
	for _, held := range []bool{false, true} {
		t.Run(fmt.Sprintf("held=%v", held), func(t *testing.T) {
			s, recs, path := newTestSink(t, int64(len(want)))
			if !s.directOn {
				t.Fatal("a large new file is not in direct mode")
			}
			if held {
				s.align = 1
			} else {
				misaligned := alignedBuffer(directBufSize+1, directAlign)[1:]
				s.direct, s.directBuf = misaligned[:0], &misaligned
			}
			steps := chunked(want, 65517)
			if held {
				steps = heldChunks(want, 65517)
			}
			recs.feed(t, s, steps)
			if s.directOn {
				t.Error("still in direct mode after the file system refused a direct write")
			}
			if err := s.finish(); err != nil {
				t.Fatal(err)
			}
			recs.checkReturned(t, "after finish")
			sameFile(t, path, want)
		})
	}
}

// A resumed part file is written in direct mode too when the rest is large
// and starts on a disk block boundary (the earlier transfer stopped between
// the sender's blocks); from any other offset it is written the ordinary
// way. Either way the prefix stays and the rest lands after it.
func TestFileSinkResumed(t *testing.T) {
	supported := directSupported(t)
	want := randBytes(9, directMinSize+3*sendBlockSize+777)
	for _, c := range []struct {
		offset int64
		direct bool
	}{
		{3 * sendBlockSize, supported},
		{3*sendBlockSize + 1000, false},
		{int64(len(want)) - directMinSize/2, false}, // too little left
	} {
		t.Run(fmt.Sprint(c.offset), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "f.bob-part")
			if err := os.WriteFile(path, want[:c.offset], 0o600); err != nil {
				t.Fatal(err)
			}
			f, err := os.OpenFile(path, os.O_RDWR, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			recs := newTestRecords()
			var buf []byte
			s := newFileSinkAt(f, c.offset, int64(len(want)), &buf, recs.release)
			if s.directOn != c.direct {
				t.Fatalf("direct mode %v, want %v", s.directOn, c.direct)
			}
			rest := want[c.offset:]
			head := len(rest) / sendBlockSize / 2 * sendBlockSize
			recs.feed(t, s, append(heldChunks(rest[:head], sendBlockSize), chunked(rest[head:], 65517)...))
			if err := s.finish(); err != nil {
				t.Fatal(err)
			}
			recs.checkReturned(t, "after finish")
			if c.direct && recs.kept == 0 {
				t.Error("no record was written without a copy")
			}
			sameFile(t, path, want)
		})
	}
}

func TestSkipBytes(t *testing.T) {
	v := [][]byte{[]byte("abc"), []byte("de"), []byte("fghi")}
	for n, want := range []string{"abcdefghi", "bcdefghi", "cdefghi", "defghi", "efghi", "fghi", "ghi", "hi", "i", ""} {
		if got := string(bytes.Join(skipBytes(v, n), nil)); got != want {
			t.Errorf("skipBytes(%d) = %q, want %q", n, got, want)
		}
	}
	if string(bytes.Join(v, nil)) != "abcdefghi" {
		t.Error("skipBytes changed its input")
	}
}

// A direct-mode receiver makes a vectored write per megabyte: after the
// first, they must not allocate, or the garbage shows as memory growing
// with the size of the file.
func TestVectorWriterDoesNotAllocate(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "f"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	bufs := make([][]byte, 18)
	for i := range bufs {
		bufs[i] = randBytes(uint64(i), sendBlockSize)
	}
	var w sysio.VectorWriter
	var off int64
	write := func() {
		n, err := w.WriteAt(f, bufs, off)
		if err != nil || n != len(bufs)*sendBlockSize {
			t.Fatalf("wrote %d bytes: %v", n, err)
		}
		off += int64(n)
	}
	write()
	if allocs := testing.AllocsPerRun(10, write); allocs != 0 && runtime.GOOS == "linux" {
		t.Errorf("%v allocations per vectored write", allocs)
	}
	sameFile(t, f.Name(), bytes.Repeat(bytes.Join(bufs, nil), 12))
}
