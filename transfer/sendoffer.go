package transfer

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
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

	// checked holds the top-level sources CheckSources found, so that Send
	// does not stat and open them again; nil means Send checks.
	checked []source
}

// CheckSources checks quickly that opts names something that can be sent:
// it looks at the top-level paths only (no walk, no content), so the CLI can
// fail before it shows a code. Pass the options it returns, unchanged, to
// Send, which then builds its offer from what was checked here instead of
// checking again; a file written to in between is caught after it is read
// (Changed).
func CheckSources(opts SendOptions) (SendOptions, error) {
	srcs, err := checkSources(opts)
	if err != nil {
		return opts, err
	}
	opts.checked = srcs
	if opts.checked == nil {
		opts.checked = []source{} // text or a stream: nothing to stat
	}
	return opts, nil
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
	srcs := opts.checked
	if srcs == nil {
		var err error
		if srcs, err = checkSources(opts); err != nil {
			return nil, err
		}
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
