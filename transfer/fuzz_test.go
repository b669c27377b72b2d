package transfer

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/bob-p2p/bob/internal/safeterm"
	"github.com/bob-p2p/bob/transfer/internal/chantest"
)

func offerSeed(kind byte, ents ...entry) (header, body []byte) {
	h := offerHeader{Version: protocolVersion, Kind: kind, Count: int64(len(ents))}
	for _, e := range ents {
		body = e.append(body)
		h.Total += e.Size
	}
	return h.append(nil), body
}

func addOffer(f *testing.F, kind byte, ents ...entry) {
	h, b := offerSeed(kind, ents...)
	f.Add(h, b)
}

// FuzzOffer feeds arbitrary offer records to the offer reader: it must never
// panic, and whatever it accepts must satisfy the name rules.
func FuzzOffer(f *testing.F) {
	addOffer(f, offerFiles, dirE("a"), fileE("a/b.txt", 3), fileE("c", 0))
	addOffer(f, offerFiles, fileE("../x", 1))
	addOffer(f, offerFiles, fileE("A", 1), fileE("a", 1))
	addOffer(f, offerText, entry{Kind: kindText, Size: 5})
	addOffer(f, offerStream, entry{Kind: kindStream, Path: "stdin"})
	addOffer(f, offerFiles, dirE("d"), fileE("d/caf\u00e9", 1), fileE("d/cafe\u0301", 1))
	f.Add(offerHeader{Version: protocolVersion, Kind: offerFiles, Count: 1, Total: 1, LeftOut: 7}.append(nil), fileE("f", 1).append(nil))
	f.Add(offerHeader{Version: protocolVersion, Kind: offerFiles, Count: 1, Total: 1, LeftOut: maxLeftOut + 1}.append(nil), fileE("f", 1).append(nil))
	f.Add(offerHeader{Version: protocolVersion, Kind: offerText, Count: 1, Total: 2, Text: "hi"}.append(nil), entry{Kind: kindText, Size: 2}.append(nil))
	f.Fuzz(func(t *testing.T, header, body []byte) {
		if h, err := decodeOfferHeader(header); err == nil {
			if h.Text != "" && (len(h.Text) > maxTextPreview || h.Kind != offerText || int64(len(h.Text)) != h.Total) {
				t.Fatalf("accepted a text preview of %d bytes in an offer of kind %d and %d bytes", len(h.Text), h.Kind, h.Total)
			}
			// The optional count is bounded and survives a round trip.
			if h.LeftOut < 0 || h.LeftOut > maxLeftOut {
				t.Fatalf("accepted %d entries left out", h.LeftOut)
			}
			if h2, err := decodeOfferHeader(h.append(nil)); err != nil || h2 != h {
				t.Fatalf("header round trip: %+v → %+v (%v)", h, h2, err)
			}
		}
		for _, rules := range []nameRules{{}, {Windows: true, RequireUTF8: true}} {
			r, err := newOfferReader(header, rules)
			if err != nil {
				continue
			}
			if err := r.add(body); err != nil {
				continue
			}
			o, err := r.finish()
			if err != nil {
				continue
			}
			if int64(len(o.Entries)) != o.Header.Count || o.Header.Count > maxEntries {
				t.Fatalf("accepted %d entries, header says %d", len(o.Entries), o.Header.Count)
			}
			seen := map[string]bool{}
			for _, e := range o.Entries {
				if e.Kind == kindText {
					continue
				}
				if err := checkPath(e.Path, rules); err != nil {
					t.Fatalf("accepted bad path %q: %v", e.Path, err)
				}
				if strings.HasPrefix(e.Path, "/") || strings.Contains(e.Path, "\x00") ||
					strings.Contains("/"+e.Path+"/", "/../") || seen[asciiLower(e.Path)] {
					t.Fatalf("accepted unsafe or duplicate path %q", e.Path)
				}
				seen[asciiLower(e.Path)] = true
				// Round trip.
				var again []entry
				if err := decodeEntries(e.append(nil), func(x entry) error { again = append(again, x); return nil }); err != nil || len(again) != 1 || again[0] != e {
					t.Fatalf("entry does not round-trip: %+v → %+v (%v)", e, again, err)
				}
			}
		}
	})
}

// FuzzRecord feeds arbitrary payloads to every record decoder: no panics,
// and what decodes re-encodes to something that decodes the same.
func FuzzRecord(f *testing.F) {
	f.Add(recFileStart, fileStart{Index: 3, Offset: 1 << 40, Compress: 1}.append(nil))
	f.Add(recFileEnd, fileEnd{Index: 1, Size: 99}.append(nil))
	f.Add(recEnd, summary{Files: 2, Bytes: 10}.append(nil))
	f.Add(recResume, appendResume(appendResume(nil, -1, resumeAsk{Index: 0, Have: 5}), 0, resumeAsk{Index: 7, Have: 1}))
	f.Add(recPrefix, prefixRecord([hashSize]byte{5}, indexedHash{Index: 2, Hash: [hashSize]byte{1}}, indexedHash{Index: 9}))
	f.Add(recKeep, appendIndexedHash(nil, -1, indexedHash{Index: 0, Hash: [hashSize]byte{0xff}}))
	f.Add(recStart, accept{Claims: 1}.append(nil))
	f.Add(recAccept, accept{Claims: 2}.append(nil))
	f.Add(recStop, stop{Code: stopExists, Message: "a\x1b[2Jb"}.append(nil))
	f.Add(recStop, stop{Code: stopVersion, Message: reasonSenderOlder}.append(nil))
	f.Add(recStop, stop{Code: 200, Message: "\x1b]0;x\x07" + strings.Repeat("\xff\u202e", 1500)}.append(nil))
	f.Add(recAck, binary.AppendUvarint(nil, 12))
	f.Add(recData, []byte{blockZero, 0xff, 0x01})
	f.Fuzz(func(t *testing.T, typ byte, p []byte) {
		switch typ {
		case recFileStart:
			if m, err := decodeFileStart(p); err == nil {
				if m2, err := decodeFileStart(m.append(nil)); err != nil || m2 != m {
					t.Fatalf("file start round trip: %+v %+v %v", m, m2, err)
				}
			}
		case recFileEnd:
			if m, err := decodeFileEnd(p); err == nil {
				if m2, err := decodeFileEnd(m.append(nil)); err != nil || m2 != m {
					t.Fatalf("file end round trip: %+v %+v %v", m, m2, err)
				}
			}
		case recEnd, recReceipt:
			if m, err := decodeSummary(p); err == nil {
				if m2, err := decodeSummary(m.append(nil)); err != nil || m2 != m {
					t.Fatalf("summary round trip")
				}
			}
		case recResume:
			listRoundTrip(t, p, decodeResume, appendResume, func(a resumeAsk) (int, bool) { return a.Index, a.Have >= 0 })
		case recPrefix:
			if _, list, err := decodePrefix(p); err == nil {
				listRoundTrip(t, list, decodeIndexedHashes, appendIndexedHash, func(h indexedHash) (int, bool) { return h.Index, true })
			}
		case recKeep:
			listRoundTrip(t, p, decodeIndexedHashes, appendIndexedHash, func(h indexedHash) (int, bool) { return h.Index, true })
		case recAccept, recStart:
			if m, err := decodeAccept(p); err == nil && m.Claims < 0 {
				t.Fatal("negative claim count")
			}
		case recStop:
			if m, err := decodeStop(p); err == nil {
				if m.Code < stopCancel || m.Code > stopVersion || len(m.Message) > maxStopMessage {
					t.Fatalf("bad stop accepted: %+v", m)
				}
				e := &peerStop{by: "sender", code: m.Code, msg: m.Message}
				if shown := safeterm.Escape(e.Error()); strings.ContainsAny(shown, "\x1b\x00\n\r\x07") || len(e.Error()) > maxShownStop+40 {
					t.Fatalf("stop message shown raw or unbounded: %q", shown)
				}
			}
		case recAck:
			if i, err := decodeAck(p); err == nil && (i < 0 || i > maxEntries) {
				t.Fatal("ack out of range")
			}
		case recOffer:
			decodeOfferHeader(p)
		case recEntries:
			decodeEntries(p, func(entry) error { return nil })
		}
	})
}

// listRoundTrip checks a delta-coded list record: what decodes has
// strictly ascending indexes within maxEntries and valid fields (ok), and
// re-encodes to the same items.
func listRoundTrip[T comparable](t *testing.T, p []byte, decode func([]byte, int, func(T) error) (int, error),
	enc func([]byte, int, T) []byte, check func(T) (index int, ok bool)) {
	var got []T
	if _, err := decode(p, -1, func(v T) error { got = append(got, v); return nil }); err != nil {
		return
	}
	var b []byte
	prev := -1
	for i, v := range got {
		if idx, ok := check(v); idx <= prev || idx > maxEntries || !ok {
			t.Fatalf("item %d out of order or invalid: %+v", i, v)
		}
		b = enc(b, prev, v)
		prev, _ = check(v)
	}
	var again []T
	if _, err := decode(b, -1, func(v T) error { again = append(again, v); return nil }); err != nil || !slices.Equal(again, got) {
		t.Fatalf("round trip: %v", err)
	}
}

// transcript records what a real sender writes for src.
func transcript(t testing.TB, so SendOptions) []byte {
	return transcriptTo(t, so, ReceiveOptions{Stdout: &bytes.Buffer{}})
}

// transcriptTo records what a real sender writes for src to a receiver
// with options ro.
func transcriptTo(t testing.TB, so SendOptions, ro ReceiveOptions) []byte {
	a, b := chantest.Pair(64)
	var out []byte
	a.CutWhen(func(from *chantest.End, typ byte, p []byte) bool {
		if from == a {
			out = append(out, typ)
			out = binary.BigEndian.AppendUint16(out, uint16(len(p)))
			out = append(out, p...)
		}
		return false
	})
	errc := make(chan error, 1)
	go func() { errc <- Send(context.Background(), a, so, nil) }()
	err := Receive(context.Background(), b, ro, nil)
	if e := <-errc; err != nil || e != nil {
		t.Fatalf("recording: %v %v", err, e)
	}
	a.Close()
	return out
}

// fuzzPart is the part file of seed.txt that FuzzReceive's output folder
// holds, so that the receiver asks about it and reads the sender's answers.
var fuzzPart = []byte(strings.Repeat("seed data ", 10))

// FuzzReceive drives a real receiver with arbitrary record sequences (type,
// 16-bit length, payload). It must end with an error or success, never
// panic or hang, and never write outside its output folder.
func FuzzReceive(f *testing.F) {
	dir := f.TempDir()
	src := filepath.Join(dir, "seed.txt")
	os.WriteFile(src, []byte(strings.Repeat("seed data ", 100)), 0o644)
	f.Add(transcript(f, SendOptions{Paths: []string{src}, Compress: "on"}))
	f.Add(transcript(f, SendOptions{Text: "hi", IsText: true}))
	f.Add(transcript(f, SendOptions{Stdin: strings.NewReader("stream")}))
	// A resumed transfer: questions, answers, keeps.
	resumeOut := filepath.Join(dir, "resume")
	os.MkdirAll(resumeOut, 0o755)
	os.WriteFile(filepath.Join(resumeOut, "seed.txt"+partSuffix), fuzzPart, 0o600)
	f.Add(transcriptTo(f, SendOptions{Paths: []string{src}, Compress: "off"}, ReceiveOptions{OutDir: resumeOut}))
	// An offer, then a stop with an unknown code and a long, escape-laden
	// text (issue 17 item 2).
	text := transcript(f, SendOptions{Text: "hi", IsText: true})
	offer := text[:3+int(binary.BigEndian.Uint16(text[1:3]))]
	bad := stop{Code: 200, Message: "\x1b[2J" + strings.Repeat("\u202eé", 1000)}.append(nil)
	f.Add(append(binary.BigEndian.AppendUint16(append(slices.Clone(offer), recStop), uint16(len(bad))), bad...))
	f.Fuzz(func(t *testing.T, script []byte) {
		base := t.TempDir()
		out := filepath.Join(base, "out")
		os.MkdirAll(out, 0o755)
		os.WriteFile(filepath.Join(out, "seed.txt"+partSuffix), fuzzPart, 0o600)
		a, b := chantest.Pair(1024)
		defer a.Close()
		errc := make(chan error, 1)
		go func() {
			errc <- Receive(context.Background(), b, ReceiveOptions{OutDir: out}, nil)
		}()
		for len(script) >= 3 {
			typ, n := script[0], int(binary.BigEndian.Uint16(script[1:3]))
			script = script[3:]
			n = min(n, len(script))
			if typ != 0 {
				if a.WriteRecord(typ, script[:n]) != nil {
					break
				}
			}
			script = script[n:]
		}
		a.CloseWrite()
		for {
			if _, _, err := a.ReadRecord(); err != nil {
				break
			}
		}
		err := <-errc
		if ents, _ := os.ReadDir(base); len(ents) > 1 {
			t.Fatalf("wrote next to the output folder: %v", ents)
		}
		if err != nil && !errors.Is(err, ErrProtocol) && !errors.Is(err, ErrUnsafeOffer) && !errors.Is(err, ErrVerify) &&
			!errors.Is(err, ErrPeerFailed) && !errors.Is(err, ErrCancelledByPeer) && !errors.Is(err, ErrDeclined) &&
			!errors.Is(err, ErrExists) && !errors.Is(err, ErrNoSpace) {
			t.Fatalf("unclassified error: %v", err)
		}
		if ps := (*peerStop)(nil); errors.As(err, &ps) && len(ps.Error()) > maxShownStop+40 {
			t.Fatalf("the sender's stop text shown unbounded: %d bytes", len(ps.Error()))
		}
	})
}
