package transfer

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"time"
)

// Limits on what a receiver accepts. An offer beyond any of them is rejected
// whole before anything is written or allocated for it.
const (
	maxEntries        = 1_000_000 // files and folders in one offer
	maxOfferBytes     = 64 << 20  // encoded size of all entry records
	maxPathBytes      = 4096      // one entry's relative path
	maxComponentBytes = 255 - len(partSuffix)
	maxFileSize       = 1 << 50 // 1 PiB: any single file, and the total
	maxTextBytes      = 16 << 20
	// maxLeftOut bounds the count of entries a sender says it left out:
	// a number for the person, never used to size anything. A sender
	// that left out more says this many.
	maxLeftOut = 1 << 30
	// maxTextPreview is the longest text that travels in the offer too,
	// so that the person reads it before accepting.
	maxTextPreview = 512
)

// partSuffix names the sibling a file is written to until it is verified.
const partSuffix = ".bob-part"

// entryKind is what an offer entry is.
type entryKind byte

const (
	kindFile   entryKind = 1
	kindDir    entryKind = 2
	kindText   entryKind = 3 // the only entry; its data is the message
	kindStream entryKind = 4 // the only entry; size unknown
)

// offerKind tells what the whole offer is.
const (
	offerFiles  byte = 0
	offerText   byte = 1
	offerStream byte = 2
)

// entry is one thing in an offer.
type entry struct {
	Kind  entryKind
	Path  string // slash-separated, relative
	Size  int64  // files and text; 0 for folders and streams
	Mode  fs.FileMode
	MTime int64 // Unix nanoseconds; 0 if unknown
}

// offerHeader opens an offer.
type offerHeader struct {
	Version byte
	Kind    byte
	Count   int64 // number of entries that follow
	Total   int64 // sum of file sizes
	// LeftOut is how many entries the sender left out of the offer (links,
	// special files, what it may not read): optional on the wire, written
	// only when not 0, so that an offer without it is as before.
	LeftOut int64
	// Text is, in a text offer of at most maxTextPreview bytes, the whole
	// text, shown before accepting; the text sent after must be the same.
	// Optional on the wire, after LeftOut.
	Text string
}

func (h offerHeader) append(b []byte) []byte {
	b = append(b, h.Version, h.Kind)
	b = binary.AppendUvarint(b, uint64(h.Count))
	b = binary.AppendUvarint(b, uint64(h.Total))
	if h.LeftOut > 0 || h.Text != "" {
		b = binary.AppendUvarint(b, uint64(h.LeftOut))
	}
	if h.Text != "" {
		b = appendStr(b, h.Text)
	}
	return b
}

func decodeOfferHeader(p []byte) (h offerHeader, err error) {
	d := dec{b: p}
	// The version comes first and is checked first: the rest of the header
	// may differ between versions. (Its layout is the same in versions 1 to
	// 3, so that older receivers reach their own version check too.)
	if h.Version = d.byte(); d.err == nil {
		if err := checkVersion(h.Version); err != nil {
			return h, err
		}
	}
	h.Kind = d.byte()
	h.Count = d.size()
	h.Total = d.size()
	if len(d.b) > 0 {
		h.LeftOut = d.size()
	}
	if len(d.b) > 0 {
		h.Text = d.str(maxTextPreview)
	}
	if err := d.done(); err != nil {
		return h, fmt.Errorf("bad offer header: %w", err)
	}
	switch {
	case h.Kind > offerStream:
		return h, fmt.Errorf("unknown offer kind %d", h.Kind)
	case h.Count > maxEntries:
		return h, fmt.Errorf("the offer has %d entries; the limit is %d", h.Count, maxEntries)
	case h.Count == 0:
		return h, errors.New("the offer is empty")
	case h.Total > maxFileSize:
		return h, fmt.Errorf("the offer totals %d bytes; the limit is %d", h.Total, int64(maxFileSize))
	case h.Kind != offerFiles && h.Count != 1:
		return h, errors.New("a text or stream offer must have exactly one entry")
	case h.LeftOut > maxLeftOut:
		return h, fmt.Errorf("the offer says %d entries were left out; the limit is %d", h.LeftOut, maxLeftOut)
	case h.Text != "" && (h.Kind != offerText || int64(len(h.Text)) != h.Total):
		return h, errors.New("the offer shows a text that is not the text it offers")
	}
	return h, nil
}

// checkVersion refuses an offer of another protocol version, saying which
// side has to upgrade.
func checkVersion(v byte) error {
	if v != protocolVersion {
		return versionError{sender: v}
	}
	return nil
}

// versionError is an offer of another protocol version.
type versionError struct{ sender byte }

func (e versionError) Error() string {
	if e.sender < protocolVersion {
		return fmt.Sprintf("the sender's bob is older (transfer protocol version %d, this bob speaks %d): upgrade bob on the sending machine", e.sender, protocolVersion)
	}
	return fmt.Sprintf("the sender's bob is newer (transfer protocol version %d, this bob speaks %d): upgrade bob on this machine", e.sender, protocolVersion)
}

func (e entry) append(b []byte) []byte {
	b = append(b, byte(e.Kind))
	b = appendStr(b, e.Path)
	b = binary.AppendUvarint(b, uint64(e.Size))
	b = binary.AppendUvarint(b, uint64(e.Mode.Perm()))
	return binary.AppendVarint(b, e.MTime)
}

// maxEntryBytes bounds one encoded entry, so an entry always fits a record.
const maxEntryBytes = 1 + binary.MaxVarintLen64 + maxPathBytes + 3*binary.MaxVarintLen64

// decodeEntries decodes the entries in one record and calls f for each.
// Field-level checks happen here; name rules are in offerChecker.
func decodeEntries(p []byte, f func(entry) error) error {
	d := dec{b: p}
	for len(d.b) > 0 {
		var e entry
		e.Kind = entryKind(d.byte())
		if n := d.uvarint(); n > maxPathBytes {
			return fmt.Errorf("an offer entry has a name of %d bytes, longer than the limit of %d", n, maxPathBytes)
		} else {
			e.Path = string(d.bytes(int(n)))
		}
		e.Size = d.size()
		mode := d.uvarint()
		e.MTime = d.varint()
		if d.err != nil {
			return fmt.Errorf("bad offer entry: %w", d.err)
		}
		if e.Kind < kindFile || e.Kind > kindStream {
			return fmt.Errorf("offer entry of unknown kind %d", e.Kind)
		}
		if mode > 0o777 {
			return fmt.Errorf("offer entry with bad mode %o", mode)
		}
		e.Mode = fs.FileMode(mode)
		if e.Size > maxFileSize {
			return fmt.Errorf("offer entry of %d bytes; the limit is %d", e.Size, int64(maxFileSize))
		}
		if e.Kind != kindFile && e.Kind != kindText && e.Size != 0 {
			return errors.New("a folder or stream entry with a size")
		}
		if err := f(e); err != nil {
			return err
		}
	}
	return nil
}

// offer is a decoded, checked offer.
type offer struct {
	Header  offerHeader
	Entries []entry
	Files   int // entries of kind file, text or stream
	Folders int
}

// offerReader assembles an offer from records, enforcing every limit as it
// goes so that a hostile offer costs at most the limits.
type offerReader struct {
	o       offer
	bytes   int
	checker *offerChecker
	total   int64
}

func newOfferReader(header []byte, rules nameRules) (*offerReader, error) {
	h, err := decodeOfferHeader(header)
	if err != nil {
		return nil, err
	}
	r := &offerReader{checker: newOfferChecker(rules)}
	r.o.Header = h
	// Grow with what actually arrives, not with what the header claims.
	r.o.Entries = make([]entry, 0, min(h.Count, 1024))
	return r, nil
}

// complete reports whether all announced entries have arrived.
func (r *offerReader) complete() bool { return int64(len(r.o.Entries)) == r.o.Header.Count }

// add decodes one entries record.
func (r *offerReader) add(p []byte) error {
	r.bytes += len(p)
	if r.bytes > maxOfferBytes {
		return fmt.Errorf("the offer is larger than %d bytes", maxOfferBytes)
	}
	return decodeEntries(p, func(e entry) error {
		if r.complete() {
			return fmt.Errorf("the offer has more entries than the %d it announced", r.o.Header.Count)
		}
		if err := r.checkKind(e); err != nil {
			return err
		}
		if e.Kind == kindDir {
			r.o.Folders++
		} else {
			r.o.Files++
			r.total += e.Size
			if r.total > r.o.Header.Total {
				return errors.New("the offer's files add up to more than its announced total")
			}
		}
		if len(r.o.Entries) == cap(r.o.Entries) {
			// Once a first batch has arrived, make room for all the header
			// announced (at most maxEntries, the cost of a true maximum
			// offer): growing step by step copied the entries many times
			// over, most of a maximum offer's memory.
			r.o.Entries = slices.Grow(r.o.Entries, int(r.o.Header.Count)-len(r.o.Entries))
		}
		r.o.Entries = append(r.o.Entries, e)
		return nil
	})
}

func (r *offerReader) checkKind(e entry) error {
	switch r.o.Header.Kind {
	case offerText:
		if e.Kind != kindText || e.Path != "" {
			return errors.New("a text offer must hold one text entry")
		}
		if e.Size > maxTextBytes {
			return fmt.Errorf("the text is %d bytes; the limit is %d", e.Size, maxTextBytes)
		}
	case offerStream:
		if e.Kind != kindStream {
			return errors.New("a stream offer must hold one stream entry")
		}
	default:
		if e.Kind != kindFile && e.Kind != kindDir {
			return errors.New("a file offer may hold only files and folders")
		}
	}
	return nil
}

// finish returns the offer once complete.
func (r *offerReader) finish() (*offer, error) {
	if !r.complete() {
		return nil, errors.New("the offer ended early")
	}
	if r.total != r.o.Header.Total {
		return nil, errors.New("the offer's files do not add up to its announced total")
	}
	// Names are checked once the offer is complete and within its limits,
	// so an oversized offer is refused at the cost of decoding only.
	r.checker.grow(len(r.o.Entries))
	for _, e := range r.o.Entries {
		if err := r.checker.add(e); err != nil {
			return nil, err
		}
	}
	return &r.o, nil
}

// mtime converts an entry's time.
func (e entry) mtime() time.Time {
	if e.MTime == 0 {
		return time.Time{}
	}
	return time.Unix(0, e.MTime)
}

// maxSentEntries caps the entries listed in OfferSent: the sender knows
// what it sends. OfferReceived lists every entry (issue 18, item 2).
const maxSentEntries = 200

// offerEvent describes an offer for the views, with its first limit entries.
func offerEvent(h offerHeader, entries []entry, files, folders, limit int) OfferReceived {
	ev := OfferReceived{
		Files:      files,
		Folders:    folders,
		TotalBytes: h.Total,
		IsText:     h.Kind == offerText,
		IsStream:   h.Kind == offerStream,
		LeftOut:    h.LeftOut,
		Text:       h.Text,
	}
	if ev.IsStream {
		ev.TotalBytes = -1
	}
	shown := entries[:min(len(entries), limit)]
	ev.Entries = make([]OfferEntry, len(shown))
	for i, e := range shown {
		ev.Entries[i] = OfferEntry{Path: e.Path, Size: e.Size, IsDir: e.Kind == kindDir, Hidden: hiddenName(e.Path)}
	}
	return ev
}

// hiddenName reports whether a component of the slash-separated path p
// starts with a dot: a name most file lists hide.
func hiddenName(p string) bool {
	return strings.HasPrefix(p, ".") || strings.Contains(p, "/.")
}
