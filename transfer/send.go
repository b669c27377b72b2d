package transfer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/bob-p2p/bob/internal/safeterm"
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
	case opts.IsText && len(opts.Text) > MaxTextBytes:
		return nil, fmt.Errorf("the text is %d bytes; send it as a file (text is limited to %d bytes)", len(opts.Text), MaxTextBytes)
	case opts.Stdin != nil:
		name := streamName(opts)
		if err := checkPath(name, nameRules{}); err != nil || strings.Contains(name, "/") {
			return nil, fmt.Errorf("bad stream name %q", safeterm.Escape(name))
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
			return nil, fmt.Errorf("cannot send %q: %w", safeterm.Escape(p), unwrapPathError(err))
		}
		if !info.Mode().IsRegular() && !info.IsDir() {
			return nil, fmt.Errorf("cannot send %q: it is not a regular file or folder", safeterm.Escape(p))
		}
		if err := checkReadable(p); err != nil {
			return nil, fmt.Errorf("cannot send %q: %w", safeterm.Escape(p), unwrapPathError(err))
		}
		abs, err := filepath.Abs(p)
		if err != nil {
			return nil, fmt.Errorf("cannot send %q: %w", safeterm.Escape(p), err)
		}
		name := filepath.Base(abs)
		if name == string(filepath.Separator) || name == "." || filepath.VolumeName(abs) == strings.TrimSuffix(abs, string(filepath.Separator)) {
			return nil, fmt.Errorf("cannot send %q: send the folders inside it instead", safeterm.Escape(p))
		}
		kind := kindFile
		if info.IsDir() {
			kind = kindDir
		}
		if err := names.add(entry{Kind: kind, Path: name}); err != nil {
			return nil, fmt.Errorf("cannot send %q: another source has the same name %q", safeterm.Escape(p), safeterm.Escape(name))
		}
		srcs = append(srcs, source{path: p, name: name, info: info})
	}
	return srcs, nil
}

// checkReadable opens path and closes it again: a file or folder that
// cannot be opened is found before it is offered, not halfway through.
func checkReadable(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	return f.Close()
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
	readable := newReadChecker()
	switch {
	case opts.IsText:
		out.header.Kind = offerText
		out.add(entry{Kind: kindText, Size: int64(len(opts.Text))}, sourceRef{})
		if len(opts.Text) <= MaxTextPreview {
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
					return fmt.Errorf("cannot read %q: %w", safeterm.Escape(p), unwrapPathError(err))
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
					err = readable.mayRead(p, info)
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
			if len(out.entries) > MaxEntries {
				return fmt.Errorf("too many files and folders: bob sends at most %d at once", MaxEntries)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	out.header.Count = int64(len(out.entries))
	if out.header.Total > MaxFileSize {
		return nil, fmt.Errorf("too much data: bob sends at most %d bytes at once", int64(MaxFileSize))
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
	o.header.LeftOut = min(o.header.LeftOut+1, MaxLeftOut)
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

	claims map[int]resumeClaim
	// resumed is what the receiver claims to have, less the claims found
	// false as the pipeline reaches their files: counting claims from the
	// start keeps progress from sitting at 0% while a large prefix is
	// checked.
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
	for _, c := range s.claims {
		offered += c.Have
	}
	s.start = time.Now() // the transfer's clock: the wait for an answer is not part of it
	atomic.StoreInt64(&s.resumed, offered)
	s.em.emit(Accepted{ResumeBytes: offered})
	return s.stream(ctx)
}

// awaitAnswer reads the receiver's resume claims and its accept (or stop).
func (s *sender) awaitAnswer(ctx context.Context) error {
	s.claims = make(map[int]resumeClaim)
	prev := -1
	for {
		m, err := s.c.next(ctx)
		if err != nil {
			return err
		}
		switch m.typ {
		case recResume:
			prev, err = decodeResume(m.p, prev, s.checkClaim)
		case recAccept:
			var a accept
			a, err = decodeAccept(m.p)
			if err == nil && a.Claims != int64(len(s.claims)) {
				err = protocolError("the receiver announced %d resume claims but sent %d", a.Claims, len(s.claims))
			}
			if err == nil {
				s.c.release(m)
				return nil
			}
		default:
			err = protocolError("unexpected record %d while waiting for the answer", m.typ)
		}
		s.c.release(m)
		if err != nil {
			return err
		}
	}
}

func (s *sender) checkClaim(c resumeClaim) error {
	if c.Index >= len(s.out.entries) {
		return protocolError("the receiver claims a file that is not in the offer")
	}
	e := &s.out.entries[c.Index]
	if e.Kind != kindFile {
		return protocolError("the receiver claims to hold part of %q, which is not a file", safeterm.Escape(e.Path))
	}
	if c.Have > e.Size {
		return protocolError("the receiver claims %d bytes of %q, which has only %d", c.Have, safeterm.Escape(e.Path), e.Size)
	}
	if c.Have > 0 {
		s.claims[c.Index] = c
	}
	return nil
}
