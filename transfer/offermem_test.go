package transfer

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
)

// maxOffer encodes an offer at the limits: maxEntries entries whose records
// fill maxOfferBytes (one folder, the rest files in it with long names).
func maxOffer(t testing.TB) (header []byte, records [][]byte) {
	t.Helper()
	per := maxOfferBytes/maxEntries - 12 // path bytes per entry, leaving room for the other fields
	stem := strings.Repeat("n", per-len("d/")-8)
	var recs [][]byte
	buf := make([]byte, 0, MaxRecordPayload)
	total := int64(0)
	for i := range maxEntries {
		e := entry{Kind: kindFile, Path: fmt.Sprintf("d/%s%08d", stem, i), Size: 1, Mode: 0o644, MTime: 1}
		if i == 0 {
			e = entry{Kind: kindDir, Path: "d", Mode: 0o755}
		}
		total += e.Size
		if len(buf)+maxEntryBytes > MaxRecordPayload {
			recs = append(recs, buf)
			buf = make([]byte, 0, MaxRecordPayload)
		}
		buf = e.append(buf)
	}
	recs = append(recs, buf)
	h := offerHeader{Version: protocolVersion, Kind: offerFiles, Count: maxEntries, Total: total}
	return h.append(nil), recs
}

// maxOfferAlloc is what parsing and checking a maximum-size offer may
// allocate in all, garbage included: the receiver's memory before the
// prompt. Before issue 18 (item 8) it was 782 MiB, most of it slices and a
// map growing step by step. The entries (48 bytes each), their names and
// the name index are what remains: about 210 MiB (270 MiB under -race).
const maxOfferAlloc = 300 << 20

func TestMaxOfferMemory(t *testing.T) {
	header, recs := maxOffer(t)
	var size int
	for _, r := range recs {
		size += len(r)
	}
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	or, err := newOfferReader(header, nameRules{})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		if err := or.add(r); err != nil {
			t.Fatal(err)
		}
	}
	o, err := or.finish()
	if err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)
	alloc := after.TotalAlloc - before.TotalAlloc
	t.Logf("%d entries, %d bytes of records: %d MiB allocated", len(o.Entries), size, alloc>>20)
	if alloc > maxOfferAlloc {
		t.Errorf("parsing a maximum-size offer allocated %d MiB, more than the bound of %d MiB", alloc>>20, maxOfferAlloc>>20)
	}
}
