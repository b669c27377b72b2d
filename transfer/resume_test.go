package transfer

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/bob-p2p/bob/transfer/internal/chantest"
)

// held is how many bytes of each offered file the receiver's folder holds.
func held(t *testing.T, out string, files map[string]int64) int64 {
	t.Helper()
	var n int64
	for name, size := range files {
		if info, err := os.Stat(filepath.Join(out, name)); err == nil && info.Size() == size {
			n += size
			continue
		}
		if info, err := os.Stat(filepath.Join(out, name+partSuffix)); err == nil && info.Size() <= size {
			n += info.Size()
		}
	}
	return n
}

// heldFile is what the output folder held of one offered file.
type heldFile struct {
	path       string
	size, have int64
	complete   bool
}

// snapshotHeld lists, in offer order (sorted paths), what out holds of files.
func snapshotHeld(t *testing.T, out string, files map[string]int64) []heldFile {
	t.Helper()
	var hs []heldFile
	for _, name := range sortedKeys(files) {
		size := files[name]
		if info, err := os.Stat(filepath.Join(out, name)); err == nil && info.Size() == size {
			hs = append(hs, heldFile{name, size, size, true})
		} else if info, err := os.Stat(filepath.Join(out, name+partSuffix)); err == nil && info.Size() > 0 && info.Size() <= size {
			hs = append(hs, heldFile{name, size, info.Size(), false})
		}
	}
	return hs
}

// heldOutcomes is what the receiver should say of each held file: all of
// them match, the sender's files being unchanged.
func heldOutcomes(hs []heldFile) []ResumeChecked {
	var out []ResumeChecked
	for _, h := range hs {
		out = append(out, ResumeChecked{Path: h.path, Size: h.size, Held: h.have, Complete: h.complete, Matched: true})
	}
	return out
}

func TestResumeAfterInterruption(t *testing.T) {
	src := t.TempDir()
	files := map[string]int64{"set/a.bin": 300_000, "set/b.bin": 1_000_000, "set/sub/c.bin": 200_000}
	var total int64
	for name, size := range files {
		writeFile(t, filepath.Join(src, name), randBytes(uint64(size), int(size)), 0o644)
		total += size
	}
	so := SendOptions{Paths: []string{filepath.Join(src, "set")}, Compress: "off"}

	// Each point cuts the link at one moment of the first attempt.
	points := []struct {
		name string
		cut  func(a, b *chantest.End) func(from *chantest.End, typ byte, p []byte) bool
	}{
		{"during the offer", func(a, b *chantest.End) func(*chantest.End, byte, []byte) bool {
			return func(from *chantest.End, typ byte, _ []byte) bool { return from == a && typ == recEntries }
		}},
		{"after the answer", func(a, b *chantest.End) func(*chantest.End, byte, []byte) bool {
			return func(from *chantest.End, typ byte, _ []byte) bool { return from == a && typ == recFileStart }
		}},
		{"inside the first file", func(a, b *chantest.End) func(*chantest.End, byte, []byte) bool {
			return func(from *chantest.End, typ byte, _ []byte) bool {
				return from == a && typ == recData && a.Stats.Records(recData) == 3
			}
		}},
		{"between files", func(a, b *chantest.End) func(*chantest.End, byte, []byte) bool {
			return func(from *chantest.End, typ byte, _ []byte) bool {
				return from == a && typ == recFileStart && a.Stats.Records(recFileStart) == 1
			}
		}},
		{"inside the last file", func(a, b *chantest.End) func(*chantest.End, byte, []byte) bool {
			return func(from *chantest.End, typ byte, _ []byte) bool {
				return from == a && typ == recData && a.Stats.Records(recFileStart) == 3 && a.Stats.Records(recData) == 22
			}
		}},
		{"before the receipt", func(a, b *chantest.End) func(*chantest.End, byte, []byte) bool {
			return func(from *chantest.End, typ byte, _ []byte) bool { return from == b && typ == recReceipt }
		}},
	}
	for _, pt := range points {
		t.Run(pt.name, func(t *testing.T) {
			out := t.TempDir()
			r := transferCtx(t, context.Background(), context.Background(), so, ReceiveOptions{OutDir: out},
				func(a, b *chantest.End) { a.CutWhen(pt.cut(a, b)) })
			if r.sendErr == nil || r.recvErr == nil {
				t.Fatalf("interrupted transfer succeeded: %v / %v", r.sendErr, r.recvErr)
			}
			for name, size := range files {
				if info, err := os.Stat(filepath.Join(out, name)); err == nil && pt.name != "before the receipt" {
					t.Errorf("%s placed (%d of %d bytes) by an interrupted transfer", name, info.Size(), size)
				}
			}
			have := held(t, out, files)
			out1 := snapshotHeld(t, out, files)

			r = transfer(t, so, ReceiveOptions{OutDir: out})
			mustOK(t, r)
			sameTree(t, src, out)
			assertNoParts(t, out)
			crossed := r.sender.Stats.Bytes(recData) - r.sender.Stats.Records(recData) // one kind byte per raw block
			if crossed != total-have {
				t.Errorf("resume sent %d file bytes; the receiver held %d of %d, so %d were missing", crossed, have, total, total-have)
			}
			for _, ev := range append(r.sendEv.list(), r.recvEv.list()...) {
				if d, ok := ev.(Done); ok && d.Resumed != have {
					t.Errorf("Done.Resumed = %d, want %d", d.Resumed, have)
				}
			}
			checkResumedProgress(t, "sender", r.sendEv.list(), []int64{have})
			checkResumedProgress(t, "receiver", r.recvEv.list(), []int64{have})
			checkResumeEvents(t, r.recvEv.list(), heldOutcomes(out1))
			t.Logf("held %d of %d bytes after the cut; %d crossed on resume", have, total, crossed)
		})
	}
}

// A large file is written with direct I/O, which buffers up to a megabyte:
// a cut must leave a part file that resumes to the exact file.
func TestResumeLargeFileAfterInterruption(t *testing.T) {
	src := t.TempDir()
	size := int64(directMinSize + 3*directBufSize + 12345)
	files := map[string]int64{"big.bin": size}
	writeFile(t, filepath.Join(src, "big.bin"), randBytes(11, int(size)), 0o644)
	so := SendOptions{Paths: []string{filepath.Join(src, "big.bin")}, Compress: "off"}
	out := t.TempDir()
	r := transferCtx(t, context.Background(), context.Background(), so, ReceiveOptions{OutDir: out},
		func(a, b *chantest.End) {
			a.CutWhen(func(from *chantest.End, typ byte, _ []byte) bool {
				return from == a && typ == recData && a.Stats.Records(recData) == 150
			})
		})
	if r.sendErr == nil || r.recvErr == nil {
		t.Fatalf("interrupted transfer succeeded: %v / %v", r.sendErr, r.recvErr)
	}
	have := held(t, out, files)
	if have == 0 || have >= size {
		t.Fatalf("the cut left %d of %d bytes", have, size)
	}
	assertKept(t, r.recvErr, out, "big.bin") // the part is not empty: the error says so
	r = transfer(t, so, ReceiveOptions{OutDir: out})
	mustOK(t, r)
	sameTree(t, src, out)
	assertNoParts(t, out)
	t.Logf("held %d of %d bytes after the cut", have, size)
}

// When the sender's file changed since the part file was written, its
// answer does not match: the receiver keeps nothing, says the part file was
// replaced, and the whole file is sent.
func TestResumeClaimTurnedDown(t *testing.T) {
	src := t.TempDir()
	const size = 1_000_000
	data := randBytes(21, size)
	path := filepath.Join(src, "f.bin")
	writeFile(t, path, data, 0o644)
	so := SendOptions{Paths: []string{path}, Compress: "off"}
	out := t.TempDir()
	r := transferCtx(t, context.Background(), context.Background(), so, ReceiveOptions{OutDir: out},
		func(a, b *chantest.End) {
			a.CutWhen(func(from *chantest.End, typ byte, _ []byte) bool {
				return from == a && typ == recData && a.Stats.Records(recData) == 5
			})
		})
	if r.sendErr == nil || r.recvErr == nil {
		t.Fatalf("interrupted transfer succeeded: %v / %v", r.sendErr, r.recvErr)
	}
	have := held(t, out, map[string]int64{"f.bin": size})
	if have == 0 {
		t.Fatal("the cut left no part file")
	}

	data[0] ^= 0xff // same size, different first byte: the receiver's prefix is stale
	writeFile(t, path, data, 0o644)
	r = transfer(t, so, ReceiveOptions{OutDir: out})
	mustOK(t, r)
	sameTree(t, src, out)
	assertNoParts(t, out)
	if crossed := r.sender.Stats.Bytes(recData) - r.sender.Stats.Records(recData); crossed != size {
		t.Errorf("sent %d file bytes after turning the claim down, want all %d", crossed, size)
	}
	for _, side := range []struct {
		name string
		evs  []Event
	}{{"sender", r.sendEv.list()}, {"receiver", r.recvEv.list()}} {
		var accepted *Accepted
		for _, ev := range side.evs {
			switch e := ev.(type) {
			case Accepted:
				accepted = &e
			case Done:
				if e.Resumed != 0 {
					t.Errorf("%s: Done.Resumed = %d, want 0", side.name, e.Resumed)
				}
			}
		}
		if accepted == nil || accepted.ResumeBytes != 0 {
			t.Errorf("%s: accepted %+v, want nothing kept", side.name, accepted)
		}
		checkResumedProgress(t, side.name, side.evs, []int64{0})
	}
	checkResumeEvents(t, r.recvEv.list(), []ResumeChecked{{Path: "f.bin", Size: size, Held: have}})
}

// checkResumeEvents checks the receiver's ResumeChecked events, and that
// they come before Accepted.
func checkResumeEvents(t *testing.T, evs []Event, want []ResumeChecked) {
	t.Helper()
	var got []ResumeChecked
	for _, ev := range evs {
		switch e := ev.(type) {
		case ResumeChecked:
			got = append(got, e)
		case Accepted:
			if len(got) != len(want) {
				t.Errorf("Accepted after %d resume outcomes, want %d", len(got), len(want))
			}
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("resume outcomes:\n got %+v\nwant %+v", got, want)
	}
}

// checkResumedProgress checks the Progress events after Accepted: each
// counts resumed bytes in Done, the resumed amount takes the values of
// want in order (each possibly repeated or skipped, but never going back),
// and the first one comes before any file starts and counts the claim.
func checkResumedProgress(t *testing.T, side string, evs []Event, want []int64) {
	t.Helper()
	accepted, first, i := false, true, 0
	for _, ev := range evs {
		switch e := ev.(type) {
		case Accepted:
			accepted = true
		case Progress:
			if !accepted {
				continue
			}
			for i < len(want) && e.Resumed != want[i] {
				i++
			}
			if i == len(want) {
				t.Errorf("%s: progress with %d resumed, want one of %v in order", side, e.Resumed, want)
				return
			}
			if e.Done < e.Resumed || (e.Total >= 0 && e.Done > e.Total) {
				t.Errorf("%s: progress %d of %d with %d resumed", side, e.Done, e.Total, e.Resumed)
			}
			if first && want[0] > 0 && (e.Resumed != want[0] || e.Done != want[0] || e.File != "") {
				t.Errorf("%s: first progress %+v, want %d resumed and done", side, e, want[0])
			}
			first = false
		}
	}
}

// A complete file of the offered name, size and modification time is
// claimed whole; when the sender's bytes differ it turns the claim down,
// and the file may then be replaced only with Overwrite.
func TestCompleteFileClaimTurnedDown(t *testing.T) {
	src := t.TempDir()
	const size = 300_000
	path := filepath.Join(src, "f.bin")
	writeFile(t, path, randBytes(31, size), 0o644)
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	mine := randBytes(32, size) // same size, other bytes
	dst := filepath.Join(out, "f.bin")
	writeFile(t, dst, mine, 0o644)
	if err := os.Chtimes(dst, info.ModTime(), info.ModTime()); err != nil {
		t.Fatal(err)
	}
	so := SendOptions{Paths: []string{path}, Compress: "off"}

	r := transfer(t, so, ReceiveOptions{OutDir: out})
	if !errors.Is(r.recvErr, ErrExists) || !strings.Contains(r.recvErr.Error(), "different content") {
		t.Fatalf("receiver: %v, want ErrExists for different content", r.recvErr)
	}
	if n := r.sender.Stats.Records(recFileStart); n != 0 {
		t.Errorf("the sender started %d files: the receiver should stop as soon as it compared", n)
	}
	if r.sendErr == nil {
		t.Error("the sender succeeded")
	}
	if got, _ := os.ReadFile(dst); !bytes.Equal(got, mine) {
		t.Fatal("the existing file was changed without Overwrite")
	}
	assertNoParts(t, out)

	r = transfer(t, so, ReceiveOptions{OutDir: out, Overwrite: true})
	mustOK(t, r)
	sameTree(t, src, out)
	for _, side := range []struct {
		name string
		evs  []Event
	}{{"sender", r.sendEv.list()}, {"receiver", r.recvEv.list()}} {
		checkResumedProgress(t, side.name, side.evs, []int64{0})
		for _, ev := range side.evs {
			if d, ok := ev.(Done); ok && d.Resumed != 0 {
				t.Errorf("%s: Done.Resumed = %d, want 0", side.name, d.Resumed)
			}
		}
	}
	checkResumeEvents(t, r.recvEv.list(), []ResumeChecked{{Path: "f.bin", Size: size, Held: size, Complete: true}})
}

// TestKeptPrefixIsNotReadAgain: the sender's whole-file checksum of a kept
// prefix is taken as it answers the receiver, so the prefix is read once.
// Here the sender's complete files are removed, and the partial file's
// first byte changed, right after the receiver says what it keeps: the
// transfer still completes, from what was read for the answers.
func TestKeptPrefixIsNotReadAgain(t *testing.T) {
	src := t.TempDir()
	names := []string{"set/a.bin", "set/b.bin", "set/sub/c.bin"}
	sizes := []int{300_000, 1_000_000, 200_000}
	orig := map[string][]byte{}
	for i, name := range names {
		orig[name] = randBytes(uint64(50+i), sizes[i])
		writeFile(t, filepath.Join(src, name), orig[name], 0o644)
	}
	so := SendOptions{Paths: []string{filepath.Join(src, "set")}, Compress: "off"}
	out := t.TempDir()
	// The first attempt ends inside the last file: a and b are complete
	// there, c is a part file.
	r := transferCtx(t, context.Background(), context.Background(), so, ReceiveOptions{OutDir: out},
		func(a, b *chantest.End) {
			a.CutWhen(func(from *chantest.End, typ byte, _ []byte) bool {
				return from == a && typ == recData && a.Stats.Records(recFileStart) == 3 && a.Stats.Records(recData) == 24
			})
		})
	if r.sendErr == nil {
		t.Fatal("the first attempt was not interrupted")
	}
	if part, err := os.Stat(filepath.Join(out, names[2]+partSuffix)); err != nil || part.Size() == 0 {
		t.Fatalf("no part of %s after the first attempt (%v)", names[2], err)
	}
	var once sync.Once
	r = transferCtx(t, context.Background(), context.Background(), so, ReceiveOptions{OutDir: out},
		func(a, b *chantest.End) {
			a.CutWhen(func(from *chantest.End, typ byte, _ []byte) bool {
				if from == b && typ == recKeep {
					once.Do(func() {
						for _, name := range names[:2] {
							if err := os.Remove(filepath.Join(src, name)); err != nil {
								t.Error(err)
							}
						}
						f, err := os.OpenFile(filepath.Join(src, names[2]), os.O_WRONLY, 0)
						if err == nil {
							_, err = f.WriteAt([]byte{^orig[names[2]][0]}, 0)
							err = errors.Join(err, f.Close())
						}
						if err != nil {
							t.Error(err)
						}
					})
				}
				return false
			})
		})
	mustOK(t, r)
	for _, name := range names {
		got, err := os.ReadFile(filepath.Join(out, name))
		if err != nil || !bytes.Equal(got, orig[name]) {
			t.Errorf("%s: %d bytes (%v), want the %d first read", name, len(got), err, len(orig[name]))
		}
	}
}
