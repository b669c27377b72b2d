package transfer

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/bob-p2p/bob/transfer/internal/sysio"
)

// SendOptions says what to send.
type SendOptions struct {
	// Paths are files and folders to send; folders are sent recursively.
	Paths []string
	// Text is a message to send instead of files (IsText set).
	Text   string
	IsText bool
	// Stdin, if set, is sent as one stream of unknown size named StreamName
	// ("stdin" if empty).
	Stdin      io.Reader
	StreamName string
	// Compress is CompressAuto if empty.
	Compress Compression
}

// CheckSources checks quickly that opts names something that can be sent:
// it looks at the top-level paths only (no walk, no content), so the CLI can
// fail before it shows a code.
func CheckSources(opts SendOptions) error {
	_, err := checkSources(opts)
	return err
}

// source is one top-level path to send.
type source struct {
	path string // as given, for reading
	name string // its name in the offer
	info fs.FileInfo
}

func checkSources(opts SendOptions) ([]source, error) {
	if err := checkCompress(opts.Compress); err != nil {
		return nil, err
	}
	kinds := 0
	if len(opts.Paths) > 0 {
		kinds++
	}
	if opts.IsText {
		kinds++
	}
	if opts.Stdin != nil {
		kinds++
	}
	switch {
	case kinds == 0:
		return nil, errors.New("nothing to send: name files or folders, text, or standard input")
	case kinds > 1:
		return nil, errors.New("send files, text or standard input, not a mix")
	case opts.IsText && len(opts.Text) > maxTextBytes:
		return nil, fmt.Errorf("the text is %d bytes; send it as a file (text is limited to %d bytes)", len(opts.Text), maxTextBytes)
	case opts.Stdin != nil:
		name := streamName(opts)
		if err := checkPath(name, nameRules{}); err != nil || strings.Contains(name, "/") {
			return nil, fmt.Errorf("bad stream name \"%s\"", name)
		}
		return nil, nil
	case opts.IsText:
		return nil, nil
	}
	var srcs []source
	names := newOfferChecker(nameRules{})
	for _, p := range opts.Paths {
		// A top-level link is followed: the person named it.
		info, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("cannot send \"%s\": %w", p, unwrapPathError(err))
		}
		if !info.Mode().IsRegular() && !info.IsDir() {
			return nil, fmt.Errorf("cannot send \"%s\": it is not a regular file or folder", p)
		}
		if err := sysio.CheckReadable(p); err != nil {
			return nil, fmt.Errorf("cannot send \"%s\": %w", p, unwrapPathError(err))
		}
		abs, err := filepath.Abs(p)
		if err != nil {
			return nil, fmt.Errorf("cannot send \"%s\": %w", p, err)
		}
		name := filepath.Base(abs)
		if name == string(filepath.Separator) || name == "." || filepath.VolumeName(abs) == strings.TrimSuffix(abs, string(filepath.Separator)) {
			return nil, fmt.Errorf("cannot send \"%s\": send the folders inside it instead", p)
		}
		kind := kindFile
		if info.IsDir() {
			kind = kindDir
		}
		if err := names.add(entry{Kind: kind, Path: name}); err != nil {
			return nil, fmt.Errorf("cannot send \"%s\": another source has the same name \"%s\"", p, name)
		}
		srcs = append(srcs, source{path: p, name: name, info: info})
	}
	return srcs, nil
}

func unwrapPathError(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

func streamName(opts SendOptions) string {
	if opts.StreamName != "" {
		return opts.StreamName
	}
	return "stdin"
}

// outgoing is an offer with the local source of each entry.
type outgoing struct {
	header  offerHeader
	entries []entry
	srcs    []sourceRef // local source per entry (zero for folders, text, stream)
	dirs    []string    // the folders sent, read through an os.Root each
	files   int
	folders int
}

// buildOffer walks the sources. Symbolic links, special files and what the
// person may not read inside folders are skipped with a Skipped event.
func buildOffer(opts SendOptions, em *emitter) (*outgoing, error) {
	srcs, err := checkSources(opts)
	if err != nil {
		return nil, err
	}
	out := &outgoing{header: offerHeader{Version: protocolVersion, Kind: offerFiles}}
	readable := sysio.NewReadChecker()
	switch {
	case opts.IsText:
		out.header.Kind = offerText
		out.add(entry{Kind: kindText, Size: int64(len(opts.Text))}, sourceRef{})
		if len(opts.Text) <= maxTextPreview {
			out.header.Text = opts.Text // shown before accepting (issue 16, item 19)
		}
	case opts.Stdin != nil:
		out.header.Kind = offerStream
		out.add(entry{Kind: kindStream, Path: streamName(opts), MTime: time.Now().UnixNano(), Mode: 0o644}, sourceRef{})
	}
	for _, s := range srcs {
		if !s.info.IsDir() {
			out.add(fileEntry(s.name, s.info), sourceRef{root: -1, path: s.path, info: s.info})
			continue
		}
		root := len(out.dirs)
		out.dirs = append(out.dirs, s.path)
		err := filepath.WalkDir(s.path, func(p string, d fs.DirEntry, walkErr error) error {
			rel, err := filepath.Rel(s.path, p)
			if err != nil {
				return err
			}
			name := s.name
			if rel != "." {
				name += "/" + filepath.ToSlash(rel)
			}
			// What the person may not read inside a folder is left out with
			// a warning, as links are, rather than stopping the send (or
			// failing halfway through it); any other error stops it.
			// A folder left out is left out whole: nothing below it goes
			// (fs.SkipDir), or the offer would hold entries without their
			// folder.
			unreadable := func(err error) error {
				if rel == "." || !errors.Is(err, fs.ErrPermission) {
					return fmt.Errorf("cannot read \"%s\": %w", p, unwrapPathError(err))
				}
				out.skip(em, Skipped{Path: name, Reason: "not readable"})
				if d != nil && d.IsDir() {
					return fs.SkipDir
				}
				return nil
			}
			if walkErr != nil {
				// A folder that cannot be listed: its entry, added just
				// before, goes too.
				out.dropFolder(name)
				return unreadable(walkErr)
			}
			switch t := d.Type(); {
			case t.IsDir():
				info, err := d.Info()
				if err != nil {
					return unreadable(err)
				}
				out.add(entry{Kind: kindDir, Path: name, Mode: info.Mode().Perm(), MTime: info.ModTime().UnixNano()}, sourceRef{})
			case t.IsRegular():
				info, err := d.Info()
				if err == nil {
					err = readable.MayRead(p, info)
				}
				if err != nil {
					return unreadable(err)
				}
				out.add(fileEntry(name, info), sourceRef{root: root, path: rel, info: info})
			case t&fs.ModeSymlink != 0:
				out.skip(em, Skipped{Path: name, Reason: "symbolic link"})
			default:
				out.skip(em, Skipped{Path: name, Reason: "special file"})
			}
			if len(out.entries) > maxEntries {
				return fmt.Errorf("too many files and folders: bob sends at most %d at once", maxEntries)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	out.header.Count = int64(len(out.entries))
	if out.header.Total > maxFileSize {
		return nil, fmt.Errorf("too much data: bob sends at most %d bytes at once", int64(maxFileSize))
	}
	// Fail here, clearly, rather than have the receiver reject the offer.
	check := newOfferChecker(nameRules{})
	for _, e := range out.entries {
		if err := check.add(e); err != nil {
			return nil, fmt.Errorf("cannot send this: %w", errors.Unwrap(err))
		}
	}
	return out, nil
}

func fileEntry(name string, info fs.FileInfo) entry {
	return entry{Kind: kindFile, Path: name, Size: info.Size(), Mode: info.Mode().Perm(), MTime: info.ModTime().UnixNano()}
}

func (o *outgoing) add(e entry, src sourceRef) {
	o.entries = append(o.entries, e)
	o.srcs = append(o.srcs, src)
	if e.Kind == kindDir {
		o.folders++
	} else {
		o.files++
		o.header.Total += e.Size
	}
}

// skip reports an entry left out of the offer, and counts it for the
// receiver (issue 16, item 16).
func (o *outgoing) skip(em *emitter, s Skipped) {
	em.emit(s)
	o.header.LeftOut = min(o.header.LeftOut+1, maxLeftOut)
}

// dropFolder takes back the last entry if it is the folder name: one that
// turned out not to be listable.
func (o *outgoing) dropFolder(name string) {
	n := len(o.entries) - 1
	if n < 0 || o.entries[n].Kind != kindDir || o.entries[n].Path != name {
		return
	}
	o.entries, o.srcs = o.entries[:n], o.srcs[:n]
	o.folders--
}

// writeOffer sends the header and the entries, packed into records.
func (o *outgoing) write(c *conn) error {
	if err := c.write(recOffer, o.header.append(nil)); err != nil {
		return err
	}
	buf := make([]byte, 0, MaxRecordPayload)
	for _, e := range o.entries {
		if len(buf)+maxEntryBytes > MaxRecordPayload {
			if err := c.write(recEntries, buf); err != nil {
				return err
			}
			buf = buf[:0]
		}
		buf = e.append(buf)
	}
	if len(buf) > 0 {
		return c.write(recEntries, buf)
	}
	return nil
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

// Send sends what opts names over ch: it walks the sources, sends the offer,
// waits for the receiver's answer, streams the data and returns nil only
// after the receiver's receipt matched what was sent. If ctx is cancelled the
// receiver is told. emit (may be nil) receives events, never concurrently.
func Send(ctx context.Context, ch Channel, opts SendOptions, emit func(Event)) error {
	em := &emitter{f: emit}
	out, err := buildOffer(opts, em)
	if err != nil {
		return err
	}
	c := newConn(ch, "receiver")
	s := &sender{c: c, out: out, opts: opts, em: em, start: time.Now()}
	err = s.run(ctx)
	return c.finish(ctx, err)
}

type sender struct {
	c     *conn
	out   *outgoing
	opts  SendOptions
	em    *emitter
	start time.Time

	// keep maps a file to the bytes the receiver proved it holds: the
	// offset its data starts at (the whole file: none is sent).
	keep map[int]int64
	// resumed is the sum of keep, read by progress.
	resumed int64
}

func (s *sender) run(ctx context.Context) error {
	if err := s.out.write(s.c); err != nil {
		return fmt.Errorf("sending the offer: %w", err)
	}
	s.em.emit(OfferSent(offerEvent(s.out.header, s.out.entries, s.out.files, s.out.folders, maxSentEntries)))
	if err := s.awaitAnswer(ctx); err != nil {
		return err
	}
	var offered int64
	for _, n := range s.keep {
		offered += n
	}
	s.start = time.Now() // the transfer's clock: the wait for an answer is not part of it
	atomic.StoreInt64(&s.resumed, offered)
	s.em.emit(Accepted{ResumeBytes: offered})
	return s.stream(ctx)
}

// awaitAnswer reads the receiver's resume questions and its accept (or
// stop), then settles the questions.
func (s *sender) awaitAnswer(ctx context.Context) error {
	var asks []resumeAsk
	prev := -1
	err := s.c.readList(ctx, recResume, recAccept, "resume questions", func(p []byte) (err error) {
		prev, err = decodeResume(p, prev, func(a resumeAsk) error {
			if err := s.checkAsk(a); err != nil {
				return err
			}
			asks = append(asks, a)
			return nil
		})
		return err
	}, func() int { return len(asks) })
	if err != nil {
		return err
	}
	return s.settle(ctx, asks)
}

func (s *sender) checkAsk(a resumeAsk) error {
	if a.Index >= len(s.out.entries) {
		return protocolError("the receiver asks about a file that is not in the offer")
	}
	e := &s.out.entries[a.Index]
	if e.Kind != kindFile {
		return protocolError("the receiver asks to resume \"%s\", which is not a file", e.Path)
	}
	if a.Have > e.Size {
		return protocolError("the receiver holds %d bytes of \"%s\", which has only %d", a.Have, e.Path, e.Size)
	}
	return nil
}

// settle answers the resume questions with the hashes of the sender's own
// prefixes and reads which ones the receiver keeps. A keep counts only with
// its proof: a receiver cannot make the sender skip bytes it does not hold.
func (s *sender) settle(ctx context.Context, asks []resumeAsk) error {
	s.keep = make(map[int]int64)
	if len(asks) == 0 {
		return nil
	}
	// The receiver waits for every answer: a record from it while the
	// sender hashes is a stop (or a breach), and ends the hashing.
	var proofs []*[hashSize]byte
	var w *listWriter
	err := s.c.quiet(ctx, "the answers to its questions", func(ctx context.Context) (err error) {
		proofs, w, err = s.answerAsks(ctx, asks)
		return err
	})
	if err == nil {
		err = w.flush() // the last answers: the receiver may answer at once
	}
	if err != nil {
		return err
	}
	j, prev := 0, -1
	return s.c.readList(ctx, recKeep, recStart, "kept files", func(p []byte) (err error) {
		prev, err = decodeIndexedHashes(p, prev, func(k indexedHash) error {
			for j < len(asks) && asks[j].Index < k.Index {
				j++
			}
			if j == len(asks) || asks[j].Index != k.Index {
				return protocolError("the receiver keeps a file it did not ask about")
			}
			if p := proofs[j]; p == nil || subtle.ConstantTimeCompare(p[:], k.Hash[:]) != 1 {
				return protocolError("the receiver asked to keep %d bytes of \"%s\" without proving it holds them",
					asks[j].Have, s.out.entries[k.Index].Path)
			}
			s.keep[k.Index] = asks[j].Have
			return nil
		})
		return err
	}, func() int { return len(s.keep) })
}

// answerAsks hashes the sender's prefix at each length asked about and
// sends the answers, under a new random key, but for the last record,
// left in the writer it returns. It returns the proof expected for each
// question (nil where the file is now shorter than asked: nothing can
// prove it).
func (s *sender) answerAsks(ctx context.Context, asks []resumeAsk) ([]*[hashSize]byte, *listWriter, error) {
	var key [hashSize]byte
	rand.Read(key[:]) // never fails (crypto/rand)
	// The key goes first, alone: the receiver hashes its own files while
	// the sender hashes.
	w := newListWriter(s.c, recPrefix, key[:])
	if err := w.send(); err != nil {
		return nil, nil, err
	}
	roots := &sourceRoots{dirs: s.out.dirs}
	defer roots.close()
	proofs := make([]*[hashSize]byte, len(asks))
	buf := make([]byte, 256<<10)
	for i, a := range asks {
		e := &s.out.entries[a.Index]
		f, err := roots.open(s.out.srcs[a.Index])
		if err != nil {
			return nil, nil, fmt.Errorf("cannot read \"%s\": %w", e.Path, err)
		}
		ph, n, err := hashPrefix(ctx, &key, sysio.SourceReader(f), a.Have, nil, buf)
		f.Close()
		if err != nil {
			if ctx.Err() != nil {
				return nil, nil, ctx.Err()
			}
			return nil, nil, fmt.Errorf("cannot read \"%s\": %w", e.Path, err)
		}
		if n == a.Have {
			proofs[i] = &ph.proof
		}
		answer := indexedHash{Index: a.Index, Hash: ph.answer}
		if err := w.add(a.Index, maxHashBytes, func(b []byte, prev int) []byte { return appendIndexedHash(b, prev, answer) }); err != nil {
			return nil, nil, err
		}
	}
	return proofs, w, nil
}
