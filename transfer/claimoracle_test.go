package transfer

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bob-p2p/bob/transfer/internal/chantest"
	"github.com/zeebo/blake3"
)

// An offered time of 0 is no wildcard: a sender offering pin.txt of the
// right size without a time must not even be asked about the receiver's own
// pin.txt (issue 18, item 6).
func TestResumeClaimNeedsOfferedTime(t *testing.T) {
	src, out := t.TempDir(), t.TempDir()
	writeFile(t, filepath.Join(src, "pin.txt"), []byte("0000"), 0o644)
	epoch := time.Unix(0, 0)
	if err := os.Chtimes(filepath.Join(src, "pin.txt"), epoch, epoch); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(out, "pin.txt"), []byte("4821"), 0o600)
	var claimed atomic.Bool
	watch := func(a, b *chantest.End) {
		b.CutWhen(func(from *chantest.End, typ byte, _ []byte) bool {
			if from == b && typ == recResume {
				claimed.Store(true)
			}
			return false
		})
	}
	so := SendOptions{Paths: []string{filepath.Join(src, "pin.txt")}, Compress: "off"}
	r := transferCtx(t, t.Context(), t.Context(), so, ReceiveOptions{OutDir: out}, watch)
	if claimed.Load() {
		t.Error("the receiver asked about its own pin.txt")
	}
	if !errors.Is(r.recvErr, ErrExists) {
		t.Errorf("receive error = %v, want ErrExists", r.recvErr)
	}
	got, err := os.ReadFile(filepath.Join(out, "pin.txt"))
	if err != nil || string(got) != "4821" {
		t.Errorf("pin.txt = %q, %v; want it untouched", got, err)
	}
}

// The receiver sends nothing computed from its files: only which file and
// how many bytes it holds (issue 18, item 6). A hostile sender offers the
// name, size and time of the receiver's pin.txt and of a part file, and
// answers with hashes of its guesses. Whatever the receiver's bytes are,
// everything it sends up to the start of data is the same, byte for byte;
// the old protocol sent BLAKE3 of the file, which a sender could brute-force
// offline. What a sender does learn is whether its guess was right (the
// receiver keeps the file): one guess per file per accepted offer.
func TestResumeSendsNothingOfReceiverFiles(t *testing.T) {
	mt := time.Date(2020, 1, 2, 3, 4, 5, 600, time.UTC) // writeFile's time
	guessPart, guessPin := randBytes(41, 40_000), []byte("0000")
	run := func(pin, part []byte) (sent [][]byte) {
		t.Helper()
		out := t.TempDir()
		writeFile(t, filepath.Join(out, "pin.txt"), pin, 0o600)
		writeFile(t, filepath.Join(out, "big.bin"+partSuffix), part, 0o600)
		hostileSend(t, ReceiveOptions{OutDir: out, Overwrite: true}, func(p fakePeer) {
			h := offerHeader{Version: protocolVersion, Kind: offerFiles, Count: 2, Total: 100_004}
			key := [hashSize]byte{7}
			p.send(recOffer, h.append(nil))
			p.entries(entry{Kind: kindFile, Path: "big.bin", Size: 100_000, Mode: 0o644, MTime: mt.UnixNano()},
				entry{Kind: kindFile, Path: "pin.txt", Size: 4, Mode: 0o644, MTime: mt.UnixNano()})
			for {
				typ, b, err := p.read()
				if err != nil {
					t.Fatalf("reading the receiver: %v", err)
				}
				sent = append(sent, append([]byte{typ}, b...))
				switch typ {
				case recAccept:
					p.send(recPrefix, prefixRecord(key,
						indexedHash{Index: 0, Hash: prefixOf(t, key, guessPart).answer},
						indexedHash{Index: 1, Hash: prefixOf(t, key, guessPin).answer}))
				case recStart, recStop:
					return
				}
			}
		})
		return sent
	}
	pinA, partA := []byte("4821"), randBytes(42, 40_000)
	a := run(pinA, partA)
	b := run([]byte("1234"), randBytes(43, 40_000))
	if !slices.EqualFunc(a, b, bytes.Equal) {
		t.Fatalf("what the receiver sent depends on its files' bytes:\n%x\n%x", a, b)
	}
	var asks []resumeAsk
	for _, rec := range a {
		for _, secret := range [][]byte{pinA, partA} {
			if h := blake3.Sum256(secret); bytes.Contains(rec, h[:]) {
				t.Errorf("record %d carries the BLAKE3 of a local file", rec[0])
			}
		}
		switch rec[0] {
		case recResume:
			decodeResume(rec[1:], -1, func(q resumeAsk) error { asks = append(asks, q); return nil })
		case recKeep:
			t.Errorf("the receiver kept a file that did not match")
		}
	}
	if want := []resumeAsk{{0, 40_000}, {1, 4}}; !slices.Equal(asks, want) {
		t.Errorf("questions %v, want %v", asks, want)
	}
	// A right guess is kept: that one bit is what resuming means.
	kept := 0
	for _, rec := range run(guessPin, guessPart) {
		if rec[0] == recKeep {
			decodeIndexedHashes(rec[1:], -1, func(indexedHash) error { kept++; return nil })
		}
	}
	if kept != 2 {
		t.Errorf("kept %d files whose bytes were the sender's, want 2", kept)
	}
}
