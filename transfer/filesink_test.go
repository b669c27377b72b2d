package transfer

import (
	"bytes"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// sinkStep is one call on a sink: data to write, or a run of zeros.
type sinkStep struct {
	data  []byte
	zeros int
}

// runSink feeds steps to a new sink of a file of their total size and
// returns the file's content after finish, and whether it began in direct
// mode.
func runSink(t *testing.T, steps []sinkStep) (got, want []byte, direct bool) {
	t.Helper()
	for _, st := range steps {
		want = append(want, st.data...)
		want = append(want, make([]byte, st.zeros)...)
	}
	path := filepath.Join(t.TempDir(), "f.bob-part")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	var buf []byte
	s := newFileSink(f, int64(len(want)), &buf)
	defer s.Close()
	direct = s.direct != nil
	for _, st := range steps {
		if st.data != nil {
			err = s.write(st.data)
		} else {
			err = s.zeros(st.zeros)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := s.finish(); err != nil {
		t.Fatal(err)
	}
	if s.direct != nil {
		t.Error("still in direct mode after finish")
	}
	if err := f.Truncate(int64(len(want))); err != nil { // as commit does for holes
		t.Fatal(err)
	}
	if got, err = os.ReadFile(path); err != nil {
		t.Fatal(err)
	}
	return got, want, direct
}

// directSupported says whether the file system of t's temporary folder
// takes O_DIRECT.
func directSupported(t *testing.T) bool {
	f, err := os.Create(filepath.Join(t.TempDir(), "probe"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	return setDirect(f, true) == nil
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
	} {
		t.Run(c.name, func(t *testing.T) {
			got, want, direct := runSink(t, c.steps)
			if !bytes.Equal(got, want) {
				t.Fatalf("the file (%d bytes) differs from what was written (%d bytes)", len(got), len(want))
			}
			if wantDirect := supported && len(want) >= directMinSize; direct != wantDirect {
				t.Errorf("direct mode = %v for a file of %d bytes, want %v", direct, len(want), wantDirect)
			}
		})
	}
}

// A transfer that stops part way closes the sink without finish: the part
// file must hold a clean prefix of the data, to resume from.
func TestFileSinkDirectAbortLeavesPrefix(t *testing.T) {
	data := randBytes(6, directMinSize+directBufSize/2)
	path := filepath.Join(t.TempDir(), "f.bob-part")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	var buf []byte
	s := newFileSink(f, int64(len(data))*2, &buf)
	for _, st := range chunked(data, 65518) {
		if err := s.write(st.data); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
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
		if runtime.GOOS == "linux" && addressOf(b)%directAlign != 0 {
			t.Fatalf("buffer at %#x is not aligned to %d", addressOf(b), directAlign)
		}
	}
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
			default:
				n := 1 + rng.IntN(BlockSize)
				steps = append(steps, sinkStep{data: randBytes(seed<<32|uint64(len(steps)), n)})
				total += n
			}
		}
		got, want, _ := runSink(t, steps)
		if !bytes.Equal(got, want) {
			t.Fatalf("seed %d: the file (%d bytes) differs from what was written (%d bytes)", seed, len(got), len(want))
		}
	}
}

// A file system may take O_DIRECT and then refuse the writes (EINVAL).
// A buffer off the alignment makes Linux do just that: the sink must carry
// on with ordinary writes and lose nothing.
func TestFileSinkDirectRefused(t *testing.T) {
	if !directSupported(t) {
		t.Skip("this file system refuses O_DIRECT outright; the refusal path after accepting it cannot be provoked here")
	}
	path := filepath.Join(t.TempDir(), "f.bob-part")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := setDirect(f, true); err != nil {
		t.Fatal(err)
	}
	misaligned := alignedBuffer(directBufSize+1, directAlign)[1:]
	s := &fileSink{f: f, direct: misaligned[:0]}
	want := randBytes(8, 3*directBufSize+999)
	for _, st := range chunked(want, 65518) {
		if err := s.write(st.data); err != nil {
			t.Fatal(err)
		}
	}
	if s.direct != nil {
		t.Error("still in direct mode after the file system refused a direct write")
	}
	if err := s.finish(); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("the file (%d bytes) differs from what was written (%d bytes)", len(got), len(want))
	}
}
