package transfer

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bob-p2p/bob/internal/safeterm"
	"github.com/bob-p2p/bob/transfer/internal/chantest"
)

// fakePeer drives the protocol directly from a test.
type fakePeer struct {
	t *testing.T
	e *chantest.End
}

func (p fakePeer) send(typ byte, payload []byte) {
	// Errors are expected once the real side has stopped; it reports why.
	_ = p.e.WriteRecord(typ, payload)
}

// read returns the next record (copied), skipping none.
func (p fakePeer) read() (byte, []byte, error) {
	typ, b, err := p.e.ReadRecord()
	return typ, append([]byte(nil), b...), err
}

// offer sends a header and entries; total is computed unless given.
func (p fakePeer) offer(kind byte, ents ...entry) {
	h := offerHeader{Version: protocolVersion, Kind: kind, Count: int64(len(ents))}
	for _, e := range ents {
		h.Total += e.Size
	}
	p.send(recOffer, h.append(nil))
	p.entries(ents...)
}

func (p fakePeer) entries(ents ...entry) {
	var buf []byte
	for _, e := range ents {
		if len(buf)+maxEntryBytes > MaxRecordPayload {
			p.send(recEntries, buf)
			buf = nil
		}
		buf = e.append(buf)
	}
	if len(buf) > 0 {
		p.send(recEntries, buf)
	}
}

// awaitAccept reads the answer; it returns the resume questions, or fails
// the test.
func (p fakePeer) awaitAccept() []resumeAsk {
	p.t.Helper()
	var claims []resumeAsk
	prev := -1
	for {
		typ, b, err := p.read()
		if err != nil {
			p.t.Fatalf("waiting for accept: %v", err)
		}
		switch typ {
		case recResume:
			prev, err = decodeResume(b, prev, func(c resumeAsk) error { claims = append(claims, c); return nil })
			if err != nil {
				p.t.Fatal(err)
			}
		case recAccept:
			return claims
		case recStop:
			s, _ := decodeStop(b)
			p.t.Fatalf("receiver stopped instead of accepting: %q", s.Message)
		}
	}
}

// fileData sends one file's start, raw data and an end with the true hash.
func (p fakePeer) fileData(idx int, data []byte) {
	p.send(recFileStart, fileStart{Index: idx}.append(nil))
	for len(data) > 0 {
		n := min(len(data), blockSize)
		p.send(recData, append([]byte{blockRaw}, data[:n]...))
		data = data[n:]
	}
}

func (p fakePeer) fileEnd(idx int, size int64, data []byte) {
	p.send(recFileEnd, fileEnd{Index: idx, Size: size, Sum: checksum(data)}.append(nil))
}

// finish ends the fake stream and reads until the real side's end.
func (p fakePeer) finish() {
	p.e.CloseWrite()
	for {
		if _, _, err := p.read(); err != nil {
			return
		}
	}
}

// hostileSend runs a real receiver against script and returns its error.
// The receiver's output folder is dir/out; dir/outside must stay empty.
func hostileSend(t *testing.T, ro ReceiveOptions, script func(p fakePeer)) error {
	t.Helper()
	a, b := chantest.Pair(64)
	defer a.Close()
	errc := make(chan error, 1)
	go func() { errc <- Receive(context.Background(), b, ro, nil) }()
	p := fakePeer{t: t, e: a}
	script(p)
	p.finish()
	return <-errc
}

// sandbox makes dir/out (the output folder) and dir/outside (must stay
// empty); check verifies that and returns out's contents.
func sandbox(t *testing.T) (out string, check func() []string) {
	dir := t.TempDir()
	out = filepath.Join(dir, "out")
	outside := filepath.Join(dir, "outside")
	os.MkdirAll(out, 0o755)
	os.MkdirAll(outside, 0o755)
	return out, func() []string {
		t.Helper()
		top, _ := os.ReadDir(dir)
		if len(top) != 2 {
			t.Errorf("something was created next to the output folder: %v", top)
		}
		if ents, _ := os.ReadDir(outside); len(ents) != 0 {
			t.Errorf("something was written outside the output folder: %v", ents)
		}
		var got []string
		filepath.WalkDir(out, func(p string, d os.DirEntry, err error) error {
			if rel, _ := filepath.Rel(out, p); rel != "." {
				got = append(got, filepath.ToSlash(rel))
			}
			return nil
		})
		return got
	}
}

func fileE(path string, size int64) entry {
	return entry{Kind: kindFile, Path: path, Size: size, Mode: 0o644}
}
func dirE(path string) entry { return entry{Kind: kindDir, Path: path, Mode: 0o755} }

func TestHostileNames(t *testing.T) {
	long := strings.Repeat("x", maxComponentBytes+1)
	var deep []string
	for range 18 {
		deep = append(deep, strings.Repeat("d", 240))
	}
	deepPath := strings.Join(deep, "/")
	var deepDirs []entry
	for i := 1; i < len(deep); i++ {
		deepDirs = append(deepDirs, dirE(strings.Join(deep[:i], "/")))
	}
	cases := []struct {
		name    string
		entries []entry
		windows bool
		want    string
	}{
		{"absolute", []entry{fileE("/etc/passwd", 1)}, false, "absolute"},
		{"dotdot", []entry{fileE("../up", 1)}, false, ". or .."},
		{"dotdot inside", []entry{dirE("a"), fileE("a/../../up", 1)}, false, ". or .."},
		{"dot", []entry{fileE("./a", 1)}, false, ". or .."},
		{"empty", []entry{fileE("", 1)}, false, "empty name"},
		{"empty component", []entry{dirE("a"), fileE("a//b", 1)}, false, "empty path component"},
		{"trailing slash", []entry{dirE("a/")}, false, "empty path component"},
		{"NUL", []entry{fileE("a\x00b", 1)}, false, "NUL"},
		{"duplicate", []entry{fileE("a", 1), fileE("a", 1)}, false, "collides"},
		{"case", []entry{fileE("README", 1), fileE("readme", 1)}, false, "collides"},
		{"unicode form", []entry{fileE("caf\u00e9", 1), fileE("cafe\u0301", 1)}, false, "collides"},
		{"case in folder", []entry{dirE("Dir"), dirE("dir")}, false, "collides"},
		{"part name", []entry{fileE("a", 1), fileE("a.bob-part", 1)}, false, "collides"},
		{"undeclared folder", []entry{fileE("x/y", 1)}, false, "did not declare"},
		{"file as folder", []entry{fileE("f", 1), fileE("f/g", 1)}, false, "did not declare"},
		{"folder in other case", []entry{dirE("d"), fileE("D/g", 1)}, false, "did not declare"},
		{"long component", []entry{fileE(long, 1)}, false, "longer than"},
		{"long path", append(deepDirs, fileE(deepPath, 1)), false, "longer than"},
		{"windows device", []entry{fileE("con.txt", 1)}, true, "reserved"},
		{"windows colon", []entry{fileE("a:b", 1)}, true, "absolute"},
		{"windows stream", []entry{fileE("ab:c", 1)}, true, "does not allow"},
		{"windows backslash", []entry{fileE(`a\b`, 1)}, true, "does not allow"},
		{"windows trailing dot", []entry{fileE("a.", 1)}, true, "dot or space"},
		{"windows drive", []entry{fileE(`C:\x`, 1)}, true, "absolute"},
		{"windows control", []entry{fileE("a\x01", 1)}, true, "does not allow"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out, check := sandbox(t)
			ro := ReceiveOptions{OutDir: out}
			if c.windows {
				ro.rules = &nameRules{Windows: true, RequireUTF8: true}
			}
			err := hostileSend(t, ro, func(p fakePeer) { p.offer(offerFiles, c.entries...) })
			if !errors.Is(err, ErrUnsafeOffer) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want ErrUnsafeOffer mentioning %q", err, c.want)
			}
			// The error carries the name raw; a view escapes it once.
			if shown := safeterm.Escape(err.Error()); strings.ContainsAny(shown, "\x00\x01\x1b") {
				t.Errorf("error as shown: %s", shown)
			}
			if got := check(); len(got) != 0 {
				t.Errorf("rejected offer wrote %v", got)
			}
		})
	}
}

func TestHostileNamesAllowed(t *testing.T) {
	// Legal names arrive exactly, whatever they look like.
	names := []string{"-rf", "with space", "new\nline", "esc\x1b[31mape", "ünï ✓", "tab\there", "back\\slash", "x.bob-part"}
	if runtime.GOOS == "windows" {
		names = []string{"-rf", "with space", "ünï ✓", "x.bob-part"}
	}
	out, check := sandbox(t)
	err := hostileSend(t, ReceiveOptions{OutDir: out}, func(p fakePeer) {
		var ents []entry
		for _, n := range names {
			ents = append(ents, fileE(n, int64(len(n))))
		}
		p.offer(offerFiles, ents...)
		p.awaitAccept()
		d := newDigest()
		for i, n := range names {
			p.fileData(i, []byte(n))
			p.fileEnd(i, int64(len(n)), []byte(n))
			d.add(fileEnd{Index: i, Size: int64(len(n)), Sum: checksum([]byte(n))})
		}
		p.send(recEnd, d.summary().append(nil))
	})
	if err != nil {
		t.Fatal(err)
	}
	got := check()
	if len(got) != len(names) {
		t.Fatalf("got %q", got)
	}
	for _, n := range names {
		b, err := os.ReadFile(filepath.Join(out, n))
		if err != nil || string(b) != n {
			t.Errorf("%q: %q %v", n, b, err)
		}
	}
}

func TestHostileOfferLimits(t *testing.T) {
	t.Run("ten million entries", func(t *testing.T) {
		out, check := sandbox(t)
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		err := hostileSend(t, ReceiveOptions{OutDir: out}, func(p fakePeer) {
			p.send(recOffer, offerHeader{Version: protocolVersion, Count: 10_000_000, Total: 10_000_000}.append(nil))
			// A sender that goes on sending entries is cut off, not buffered.
			for i := range 100 {
				p.entries(fileE("f"+strings.Repeat("x", i), 1))
			}
		})
		runtime.ReadMemStats(&after)
		if !errors.Is(err, ErrUnsafeOffer) || !strings.Contains(err.Error(), "10000000 entries") {
			t.Fatalf("got %v", err)
		}
		if grew := after.TotalAlloc - before.TotalAlloc; grew > 64<<20 {
			t.Errorf("rejecting the offer allocated %d bytes", grew)
		}
		if got := check(); len(got) != 0 {
			t.Errorf("wrote %v", got)
		}
	})
	t.Run("more entries than announced", func(t *testing.T) {
		out, _ := sandbox(t)
		err := hostileSend(t, ReceiveOptions{OutDir: out}, func(p fakePeer) {
			p.send(recOffer, offerHeader{Version: protocolVersion, Count: 2, Total: 3}.append(nil))
			p.entries(fileE("a", 1), fileE("b", 1), fileE("c", 1))
		})
		if !errors.Is(err, ErrUnsafeOffer) || !strings.Contains(err.Error(), "more entries") {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("offer too large", func(t *testing.T) {
		out, _ := sandbox(t)
		err := hostileSend(t, ReceiveOptions{OutDir: out}, func(p fakePeer) {
			p.send(recOffer, offerHeader{Version: protocolVersion, Count: maxEntries, Total: maxEntries}.append(nil))
			name := strings.Repeat("n", 200)
			var buf []byte
			for i, sent := 0, 0; sent < maxOfferBytes+2*MaxRecordPayload; i++ {
				e := fileE(name+string(rune('a'+i%26))+strings.Repeat("z", i/26%8), 1)
				e.Path = filepath.ToSlash(e.Path) + "-" + strconv.Itoa(i)
				if len(buf)+maxEntryBytes > MaxRecordPayload {
					if p.e.WriteRecord(recEntries, buf) != nil {
						return
					}
					sent += len(buf)
					buf = buf[:0]
				}
				buf = e.append(buf)
			}
		})
		if !errors.Is(err, ErrUnsafeOffer) || !strings.Contains(err.Error(), "larger than") {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("sizes exceed total", func(t *testing.T) {
		out, _ := sandbox(t)
		err := hostileSend(t, ReceiveOptions{OutDir: out}, func(p fakePeer) {
			p.send(recOffer, offerHeader{Version: protocolVersion, Count: 2, Total: 10}.append(nil))
			p.entries(fileE("a", 8), fileE("b", 8))
		})
		if !errors.Is(err, ErrUnsafeOffer) || !strings.Contains(err.Error(), "announced total") {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("absurd size", func(t *testing.T) {
		out, _ := sandbox(t)
		err := hostileSend(t, ReceiveOptions{OutDir: out}, func(p fakePeer) {
			p.offer(offerFiles, fileE("a", maxFileSize+1))
		})
		if !errors.Is(err, ErrUnsafeOffer) {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("no space", func(t *testing.T) {
		out, check := sandbox(t)
		err := hostileSend(t, ReceiveOptions{OutDir: out}, func(p fakePeer) {
			p.offer(offerFiles, fileE("huge", maxFileSize/2))
		})
		if !errors.Is(err, ErrNoSpace) || !strings.Contains(err.Error(), "free") {
			t.Fatalf("got %v", err)
		}
		if got := check(); len(got) != 0 {
			t.Errorf("wrote %v", got)
		}
	})
	t.Run("wrong version", func(t *testing.T) {
		out, _ := sandbox(t)
		err := hostileSend(t, ReceiveOptions{OutDir: out}, func(p fakePeer) {
			p.send(recOffer, offerHeader{Version: 99, Count: 1}.append(nil))
		})
		if !errors.Is(err, ErrUnsafeOffer) || !strings.Contains(err.Error(), "version 99") || !strings.Contains(err.Error(), "upgrade bob on this machine") {
			t.Fatalf("got %v", err)
		}
	})
	// The header's layout is that of versions 1 and 2, so that an older
	// receiver, which checks the version after decoding the whole header,
	// says that the sender speaks another version rather than that the
	// header is bad.
	t.Run("header layout", func(t *testing.T) {
		got := offerHeader{Version: protocolVersion, Kind: offerFiles, Count: 2, Total: 10}.append(nil)
		if want := []byte{protocolVersion, offerFiles, 2, 10}; !bytes.Equal(got, want) {
			t.Errorf("offer header %x, want %x", got, want)
		}
	})
	// The version is checked first, so whatever a later version puts in
	// the header, the person reads which side to upgrade, not "truncated".
	t.Run("older version", func(t *testing.T) {
		out, _ := sandbox(t)
		err := hostileSend(t, ReceiveOptions{OutDir: out}, func(p fakePeer) {
			p.send(recOffer, []byte{2, offerFiles, 1, 1})
		})
		if !errors.Is(err, ErrUnsafeOffer) || !strings.Contains(err.Error(), "upgrade bob on the sending machine") {
			t.Fatalf("got %v", err)
		}
	})
}

func TestHostileLinksInOutput(t *testing.T) {
	out, check := sandbox(t)
	outside := filepath.Join(filepath.Dir(out), "outside")
	if err := os.Symlink(outside, filepath.Join(out, "link")); err != nil {
		t.Skip("no symlinks:", err)
	}
	err := hostileSend(t, ReceiveOptions{OutDir: out, Overwrite: true}, func(p fakePeer) {
		p.offer(offerFiles, dirE("link"), fileE("link/evil", 4))
	})
	if !errors.Is(err, ErrExists) || !strings.Contains(err.Error(), "symbolic link") {
		t.Fatalf("got %v", err)
	}
	if got := check(); len(got) != 1 || got[0] != "link" {
		t.Errorf("output now holds %v", got)
	}

	// A part file that is a link is not written through either.
	os.Remove(filepath.Join(out, "link"))
	os.Symlink(filepath.Join(outside, "target"), filepath.Join(out, "f"+partSuffix))
	err = hostileSend(t, ReceiveOptions{OutDir: out}, func(p fakePeer) {
		p.offer(offerFiles, fileE("f", 4))
	})
	if !errors.Is(err, ErrExists) || !strings.Contains(err.Error(), "not a regular file") {
		t.Fatalf("got %v", err)
	}
	check()
}

// dataCase runs a one-file offer of want bytes and then script's data.
func dataCase(t *testing.T, size int64, script func(p fakePeer)) ([]string, error) {
	t.Helper()
	out, check := sandbox(t)
	err := hostileSend(t, ReceiveOptions{OutDir: out}, func(p fakePeer) {
		p.offer(offerFiles, fileE("f", size))
		p.awaitAccept()
		script(p)
	})
	return check(), err
}

func TestHostileData(t *testing.T) {
	data := randBytes(5, 100_000)
	cases := []struct {
		name   string
		size   int64
		script func(p fakePeer)
		is     error
		want   string
	}{
		{"more than announced", 1000, func(p fakePeer) {
			p.fileData(0, data[:2000])
		}, ErrVerify, "more than"},
		{"fewer than announced", 100_000, func(p fakePeer) {
			p.fileData(0, data[:50_000])
			p.fileEnd(0, 50_000, data[:50_000])
		}, ErrVerify, "received 50000"},
		{"end claims full size", 100_000, func(p fakePeer) {
			p.fileData(0, data[:50_000])
			p.fileEnd(0, 100_000, data)
		}, ErrVerify, "received 50000"},
		{"hash mismatch", 100_000, func(p fakePeer) {
			bad := append([]byte(nil), data...)
			bad[777] ^= 1
			p.fileData(0, bad)
			p.fileEnd(0, 100_000, data)
		}, ErrVerify, "does not match"},
		{"stream ends early", 100_000, func(p fakePeer) {
			p.fileData(0, data[:70_000])
			p.e.CloseWrite()
		}, ErrProtocol, "ended the stream early"},
		{"end before files", 100_000, func(p fakePeer) {
			p.send(recEnd, summary{}.append(nil))
		}, ErrProtocol, "before sending every file"},
		{"data outside a file", 100_000, func(p fakePeer) {
			p.send(recData, []byte{blockRaw, 1, 2, 3})
		}, ErrProtocol, "outside a file"},
		{"wrong file index", 100_000, func(p fakePeer) {
			p.send(recFileStart, fileStart{Index: 5}.append(nil))
		}, ErrProtocol, "offer order"},
		{"resume offset not offered", 100_000, func(p fakePeer) {
			p.send(recFileStart, fileStart{Index: 0, Offset: 10}.append(nil))
		}, ErrProtocol, "did not keep"},
		{"zero block too big", 100_000, func(p fakePeer) {
			p.send(recFileStart, fileStart{Index: 0}.append(nil))
			p.send(recData, binary.AppendUvarint([]byte{blockZero}, blockSize+1))
		}, ErrProtocol, "zero block"},
		{"compression bomb", 100_000, func(p fakePeer) {
			enc, _ := newEncoder(1)
			defer enc.Close()
			bomb := enc.EncodeAll(make([]byte, 1<<20), []byte{blockZstd})
			p.send(recFileStart, fileStart{Index: 0}.append(nil))
			p.send(recData, bomb)
		}, ErrProtocol, "bad compressed block"},
		{"unknown block", 100_000, func(p fakePeer) {
			p.send(recFileStart, fileStart{Index: 0}.append(nil))
			p.send(recData, []byte{9, 1})
		}, ErrProtocol, "unknown block"},
		{"unknown record", 100_000, func(p fakePeer) {
			p.send(200, nil)
		}, ErrProtocol, "unexpected record"},
		{"wrong totals", 100_000, func(p fakePeer) {
			p.fileData(0, data)
			p.fileEnd(0, 100_000, data)
			p.send(recEnd, summary{Files: 1, Bytes: 100_000}.append(nil))
		}, ErrProtocol, "totals"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := dataCase(t, c.size, c.script)
			if !errors.Is(err, c.is) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want %v mentioning %q", err, c.is, c.want)
			}
			for _, g := range got {
				if g == "f" && c.name != "wrong totals" {
					t.Errorf("a file that did not verify was placed")
				}
			}
		})
	}
}

func TestHostileTruncatedStream(t *testing.T) {
	data := randBytes(6, 300_000)
	out, check := sandbox(t)
	err := hostileSend(t, ReceiveOptions{OutDir: out}, func(p fakePeer) {
		p.offer(offerFiles, fileE("f", 300_000))
		p.awaitAccept()
		p.fileData(0, data[:200_000])
		// Cut once the data has landed (bounded wait).
		for i := 0; i < 1000; i++ {
			if info, err := os.Stat(filepath.Join(out, "f"+partSuffix)); err == nil && info.Size() == 200_000 {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		p.e.Cut()
	})
	if err == nil || !strings.Contains(err.Error(), "connection lost") {
		t.Fatalf("got %v", err)
	}
	got := check()
	if len(got) != 1 || got[0] != "f"+partSuffix {
		t.Errorf("after a cut the folder holds %v, want only the part file", got)
	}
}

// A sender answering resume questions wrongly is stopped; one that starts a
// file elsewhere than where both sides agreed is too. The part file stays.
func TestHostileResumeAnswers(t *testing.T) {
	held := randBytes(44, 30_000)
	key := [hashSize]byte{1, 2, 3}
	right := func() indexedHash {
		return indexedHash{Index: 0, Hash: prefixOf(t, key, held).answer}
	}
	cases := []struct {
		name   string
		script func(p fakePeer)
		want   string
	}{
		{"data instead of answers", func(p fakePeer) {
			p.send(recFileStart, fileStart{Index: 0}.append(nil))
		}, "expected the answers"},
		{"an answer not asked for", func(p fakePeer) {
			p.send(recPrefix, prefixRecord(key, indexedHash{Index: 1}))
		}, "not asked"},
		{"too many answers", func(p fakePeer) {
			p.send(recPrefix, prefixRecord(key, right(), indexedHash{Index: 1}))
		}, "not asked"},
		{"answers out of order", func(p fakePeer) {
			p.send(recPrefix, append(key[:], 0))
		}, "bad resume answer"},
		{"no key", func(p fakePeer) {
			p.send(recPrefix, key[:5])
		}, "bad resume answer"},
		{"the key changes", func(p fakePeer) {
			p.send(recPrefix, prefixRecord(key))
			p.send(recPrefix, prefixRecord([hashSize]byte{9}, right()))
		}, "changed its resume key"},
		{"kept, then sent from the start", func(p fakePeer) {
			p.send(recPrefix, prefixRecord(key))
			p.send(recPrefix, prefixRecord(key, right()))
			p.awaitStart()
			p.send(recFileStart, fileStart{Index: 0}.append(nil))
		}, "agreed to keep"},
		{"not kept, then resumed", func(p fakePeer) {
			p.send(recPrefix, prefixRecord(key, indexedHash{Index: 0}))
			p.awaitStart()
			p.send(recFileStart, fileStart{Index: 0, Offset: 30_000}.append(nil))
		}, "did not keep"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out, check := sandbox(t)
			writeFile(t, filepath.Join(out, "f"+partSuffix), held, 0o600)
			err := hostileSend(t, ReceiveOptions{OutDir: out}, func(p fakePeer) {
				p.offer(offerFiles, fileE("f", 100_000))
				if asks := p.awaitAccept(); len(asks) != 1 || asks[0] != (resumeAsk{Index: 0, Have: 30_000}) {
					t.Errorf("questions %v, want one about the 30000 bytes held", asks)
				}
				c.script(p)
			})
			if !errors.Is(err, ErrProtocol) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want a protocol error mentioning %q", err, c.want)
			}
			if got := check(); len(got) != 1 || got[0] != "f"+partSuffix {
				t.Errorf("the folder holds %v, want only the part file", got)
			}
		})
	}
}

// prefixRecord is a PREFIX record: key, then the answers.
func prefixRecord(key [hashSize]byte, answers ...indexedHash) []byte {
	b := key[:]
	prev := -1
	for _, a := range answers {
		b = appendIndexedHash(b, prev, a)
		prev = a.Index
	}
	return b
}

// awaitStart reads the receiver's keeps up to its start record.
func (p fakePeer) awaitStart() {
	p.t.Helper()
	for {
		typ, _, err := p.read()
		if err != nil {
			p.t.Fatalf("waiting for start: %v", err)
		}
		if typ == recStart {
			return
		}
	}
}
