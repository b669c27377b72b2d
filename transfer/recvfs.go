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
	"time"

	"github.com/bob-p2p/bob/transfer/internal/sysio"
)

// Commits are batched so that many small files cost one sync, not one each.
const (
	commitBatchFiles = 256
	commitBatchBytes = 32 << 20
	mtimeSlack       = 2 * time.Second // FAT keeps times to 2 s
)

// A stream has no size to check before it is accepted, and compressed data
// can grow two thousandfold on the disk: a stream written to a folder stops
// while streamSpaceReserve bytes are still free there. Free space is
// looked at every streamSpaceEvery bytes, far below the reserve.
const (
	streamSpaceReserve = 256 << 20
	streamSpaceEvery   = 8 << 20
)

// disk is the receiver's output folder. Every operation goes through root,
// so nothing can be created or changed outside it.
type disk struct {
	root      *os.Root
	dirs      *dirCache
	dir       string
	created   []string // the output folder and parents bob created, deepest first
	overwrite bool
	askClash  bool // files that exist are marked for the person, not refused
	clashes   int  // offered files whose names are taken (with askClash)
	o         *offer

	skipped      int   // files the person chose to leave as they are
	skippedBytes int64 // and their offered bytes

	state     []pathState
	kept      map[int]int64         // files whose prefix matched the sender's: the bytes kept
	held      map[int][sumSize]byte // checksums of complete files asked about
	resumable int64                 // bytes from an earlier run, before they are compared
	resumed   int64                 // bytes kept: they are not sent again

	batch      []pendingCommit
	batchBytes int64
	opened     map[int]bool // entries whose part file this session opened or created
	// directBuf is the aligned buffer of direct writes, shared by the
	// files in turn (one is written at a time); see fileSink.
	directBuf []byte
	// release gives back the record buffers a direct-mode sink held.
	release func(*[]byte)

	freeSpace     func(dir string) (int64, error) // the folder's free space; tests replace it
	streamAllowed int64                           // stream bytes that may be written before the next check
}

type pathState struct {
	exists    bool  // something is at the final name
	candidate bool  // a regular file of the offered size and time: maybe ours from an earlier run
	part      int64 // size of a usable NAME.bob-part, or -1
	newDir    bool  // a folder this transfer creates
	clash     bool  // a file of this name is here; the person chooses
	skip      bool  // the person chose to keep what is here: data is dropped
	// info and partInfo are the final name and the part file as planned:
	// what is read or resumed later must still be that very file.
	info, partInfo fs.FileInfo
}

type pendingCommit struct {
	idx   int
	f     *os.File // nil: the file was already in place
	size  int64
	holes bool
}

func openDisk(opts ReceiveOptions, o *offer) (*disk, error) {
	dir := opts.OutDir
	if dir == "" {
		dir = "."
	}
	created := missingDirs(dir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("cannot create the output folder: %w", err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		removeEmpty(created)
		return nil, fmt.Errorf("cannot open the output folder: %w", err)
	}
	d := &disk{root: root, dirs: newDirCache(root), dir: absDir(dir), created: created, overwrite: opts.Overwrite, askClash: opts.Clash != nil, o: o, kept: make(map[int]int64), held: make(map[int][sumSize]byte), opened: make(map[int]bool), freeSpace: opts.freeSpace}
	if d.freeSpace == nil {
		d.freeSpace = sysio.FreeSpace
	}
	return d, nil
}

// missingDirs lists dir and those of its parents that do not exist yet,
// deepest first: what MkdirAll(dir) creates.
func missingDirs(dir string) []string {
	var missing []string
	for p := filepath.Clean(dir); ; {
		if _, err := os.Lstat(p); !errors.Is(err, fs.ErrNotExist) {
			return missing
		}
		missing = append(missing, p)
		parent := filepath.Dir(p)
		if parent == p {
			return missing
		}
		p = parent
	}
}

// removeEmpty removes the folders bob created for the output folder, deepest
// first, while they are empty: a declined or failed transfer that wrote
// nothing leaves no empty folder behind (issue 16, item 15). A folder with
// anything in it (a part file kept for resuming) stays.
func removeEmpty(created []string) {
	for _, p := range created {
		if os.Remove(p) != nil {
			return
		}
	}
}

func (d *disk) close() {
	for _, pc := range d.batch {
		if pc.f != nil {
			pc.f.Close()
		}
	}
	d.batch = nil
	d.dirs.close()
	d.root.Close()
}

func osPath(p string) string { return filepath.FromSlash(p) }

func (d *disk) lstat(p string) (fs.FileInfo, error) {
	r, base, err := d.dirs.split(p)
	if err != nil {
		return nil, err
	}
	return r.Lstat(base)
}

func (d *disk) openFile(p string, flag int, perm fs.FileMode) (*os.File, error) {
	r, base, err := d.dirs.split(p)
	if err != nil {
		return nil, err
	}
	return r.OpenFile(base, flag, perm)
}

// plan looks at what already exists: folders on the way (never through a
// link), files that would be overwritten, part files to resume. It stops
// with ErrExists before anything is written, and checks free space.
func (d *disk) plan() error {
	d.state = make([]pathState, len(d.o.Entries))
	newDirs := make(map[string]bool)
	var conflicts []string
	var need int64
	for i := range d.o.Entries {
		e := &d.o.Entries[i]
		st := &d.state[i]
		st.part = -1
		parent := ""
		if j := strings.LastIndexByte(e.Path, '/'); j >= 0 {
			parent = e.Path[:j]
		}
		if parent != "" && newDirs[parent] {
			// Inside a folder this transfer creates: nothing can exist.
			if e.Kind == kindDir {
				st.newDir = true
				newDirs[e.Path] = true
			} else {
				need += e.Size
			}
			continue
		}
		info, err := d.lstat(e.Path)
		switch {
		case errors.Is(err, fs.ErrNotExist):
		case err != nil:
			return fmt.Errorf("cannot check \"%s\" in the output folder: %w", e.Path, unwrapPathError(err))
		default:
			st.exists = true
			st.info = info
		}
		if e.Kind == kindDir {
			switch {
			case !st.exists:
				st.newDir = true
				newDirs[e.Path] = true
			case info.Mode()&fs.ModeSymlink != 0:
				return fmt.Errorf("%w: \"%s\" is a symbolic link in the output folder and bob does not write through links", ErrExists, e.Path)
			case !info.IsDir():
				return fmt.Errorf("%w: \"%s\" exists and is not a folder", ErrExists, e.Path)
			}
			continue
		}
		if st.exists {
			switch {
			case info.IsDir():
				return fmt.Errorf("%w: \"%s\" exists and is a folder", ErrExists, e.Path)
			case e.Kind == kindFile && info.Mode().IsRegular() && info.Size() == e.Size && sameTime(info.ModTime(), e):
				st.candidate = true
				d.resumable += e.Size
			case !d.overwrite:
				conflicts = append(conflicts, e.Path)
				st.clash = true
			}
		}
		if !st.candidate {
			need += e.Size
			pinfo, err := d.lstat(e.Path + partSuffix)
			switch {
			case errors.Is(err, fs.ErrNotExist):
			case err != nil:
				return fmt.Errorf("cannot check \"%s\" in the output folder: %w", e.Path+partSuffix, unwrapPathError(err))
			case !pinfo.Mode().IsRegular():
				return fmt.Errorf("%w: \"%s\" exists and is not a regular file", ErrExists, e.Path+partSuffix)
			case pinfo.Size() <= e.Size && e.Kind == kindFile && sysio.LinkCount(pinfo) == 1:
				st.part, st.partInfo = pinfo.Size(), pinfo
				d.resumable += st.part
				need -= st.part
			}
		}
	}
	if len(conflicts) > 0 && !d.askClash {
		return &ExistsError{Names: conflicts}
	}
	d.clashes = len(conflicts)
	if d.o.Header.Kind == offerStream {
		return nil
	}
	free, err := d.freeSpace(d.dir)
	if err == nil && need > free {
		return &NoSpaceError{Dir: d.dir, Need: need, Free: free}
	}
	return nil
}

// markExisting flags, in the offer as shown (one OfferEntry per entry),
// the folders plan found already in the output folder and what the offer
// writes straight into them: a sender can aim at a folder such as .ssh, and
// the person should see that before accepting (issue 18, item 2).
func (d *disk) markExisting(shown []OfferEntry) {
	existing := make(map[string]bool)
	for i := range shown {
		e := &d.o.Entries[i]
		if j := strings.LastIndexByte(e.Path, '/'); j >= 0 && existing[e.Path[:j]] {
			shown[i].InExisting = true
		}
		if e.Kind == kindDir && d.state[i].exists {
			shown[i].Exists = true
			existing[e.Path] = true
		}
		shown[i].Clash = d.state[i].clash
		shown[i].Replaces = d.overwrite && e.Kind == kindFile && d.state[i].exists && !d.state[i].candidate
	}
}

// resolve applies the person's answer about offered files whose names are
// taken (plan marked them): overwrite them, write the new ones under free
// names, or keep what is here and drop their data.
func (d *disk) resolve(c ClashChoice, rules nameRules) error {
	switch c {
	case ClashOverwrite:
		d.overwrite = true
		return nil
	case ClashKeepBoth:
		return d.keepBoth(rules)
	case ClashSkip:
		for i := range d.o.Entries {
			if st := &d.state[i]; st.clash {
				d.forgetPart(st)
				st.skip = true
				d.skipped++
				d.skippedBytes += d.o.Entries[i].Size
			}
		}
		return nil
	}
	return fmt.Errorf("unknown answer %d to files that exist", c)
}

// forgetPart drops a planned resume of st's part file: the file goes
// elsewhere or nowhere.
func (d *disk) forgetPart(st *pathState) {
	if st.part > 0 {
		d.resumable -= st.part
	}
	st.part, st.partInfo = -1, nil
}

// maxKeepBoth bounds the numbers tried for a free name.
const maxKeepBoth = 1000

// keepBoth renames, on this side only, each clashing entry to the first
// "name (N).ext" that is free: in the output folder (part file included)
// and among the offer's names, as the offer checks them (case and Unicode
// form folded). The sender still sends by index.
func (d *disk) keepBoth(rules nameRules) error {
	names := newOfferChecker(rules)
	names.grow(len(d.o.Entries))
	for _, e := range d.o.Entries {
		_ = names.add(e) // the offer passed these checks
	}
	for i := range d.o.Entries {
		e, st := &d.o.Entries[i], &d.state[i]
		if !st.clash {
			continue
		}
		free := ""
		for n := 1; n <= maxKeepBoth && free == ""; n++ {
			p := numbered(e.Path, n)
			if checkPath(p, rules) != nil {
				break
			}
			if names.taken(p) {
				continue
			}
			_, err := d.lstat(p)
			_, perr := d.lstat(p + partSuffix)
			if errors.Is(err, fs.ErrNotExist) && errors.Is(perr, fs.ErrNotExist) {
				free = p
			}
		}
		if free == "" {
			return fmt.Errorf("%w: no free name to keep both copies of \"%s\"", ErrExists, e.Path)
		}
		_ = names.claim(free, "", int32(i))
		_ = names.claim(free, partSuffix, int32(i))
		e.Path = free
		d.forgetPart(st)
		st.clash, st.exists, st.info = false, false, nil
	}
	return nil
}

// numbered is path with " (n)" before the extension of its last part:
// "dir/photo.jpg" → "dir/photo (1).jpg", ".bashrc" → ".bashrc (1)".
func numbered(path string, n int) string {
	dir, base := "", path
	if j := strings.LastIndexByte(path, '/'); j >= 0 {
		dir, base = path[:j+1], path[j+1:]
	}
	stem, ext := base, ""
	if j := strings.LastIndexByte(base, '.'); j > 0 {
		stem, ext = base[:j], base[j:]
	}
	return fmt.Sprintf("%s%s (%d)%s", dir, stem, n, ext)
}

// streamSpace is asked before n more bytes of stream e, which has size
// bytes so far, are written: it stops the stream with ErrNoSpace before the
// folder's free space falls below streamSpaceReserve.
func (d *disk) streamSpace(e *entry, size, n int64) error {
	if size+n <= d.streamAllowed {
		return nil
	}
	free, err := d.freeSpace(d.dir)
	if err != nil {
		return nil // as for files: a folder whose free space is unknown is not refused
	}
	if free-n < streamSpaceReserve {
		return &NoSpaceError{Dir: d.dir, Free: max(free, 0), Stream: e.Path, After: size, Reserve: streamSpaceReserve}
	}
	d.streamAllowed = size + min(streamSpaceEvery, free-streamSpaceReserve)
	return nil
}

// sameTime reports whether a local file's time matches the offered one. An
// offer without a time (0) matches nothing: as a wildcard it let a sender
// name any local file of a known size and learn its hash from the resume
// claim (issue 18, item 6).
func sameTime(t time.Time, e *entry) bool {
	if e.MTime == 0 {
		return false
	}
	diff := t.Sub(e.mtime())
	return diff > -mtimeSlack && diff < mtimeSlack
}

// makeDirs creates the offer's folders (empty ones included).
func (d *disk) makeDirs() error {
	for i, e := range d.o.Entries {
		if e.Kind != kindDir || !d.state[i].newDir {
			continue
		}
		err := d.root.Mkdir(osPath(e.Path), dirMode(e.Mode))
		if errors.Is(err, fs.ErrExist) {
			info, lerr := d.root.Lstat(osPath(e.Path))
			if lerr == nil && info.IsDir() {
				d.state[i].newDir = false
				continue
			}
		}
		if err != nil {
			return fmt.Errorf("cannot create folder \"%s\": %w", e.Path, unwrapPathError(err))
		}
	}
	return nil
}

func dirMode(m fs.FileMode) fs.FileMode {
	if m == 0 {
		return 0o755
	}
	return m&0o755 | 0o700
}

// fileMode keeps the sender's permission bits (the executable bits above
// all) but never makes a file writable by others, and always leaves it
// readable and writable by its owner.
func fileMode(m fs.FileMode) fs.FileMode { return m&0o755 | 0o600 }

// asks lists what is already here from an earlier run, complete files and
// part files, as resume questions: which file and how many bytes. Nothing
// computed from those bytes goes with them.
func (d *disk) asks() []resumeAsk {
	var out []resumeAsk
	for i := range d.o.Entries {
		switch st := &d.state[i]; {
		case st.candidate:
			out = append(out, resumeAsk{Index: i, Have: d.o.Entries[i].Size})
		case st.part > 0:
			out = append(out, resumeAsk{Index: i, Have: st.part})
		}
	}
	return out
}

// localHashes hashes the prefix of each question's file under key, as the
// sender hashes its own: the answers are compared with these here, on the
// receiver's machine. A file now shorter than asked gets nil: it matches
// nothing. Complete files also get their whole-file checksum (held), which
// FILE_END is checked against if they are kept.
func (d *disk) localHashes(ctx context.Context, key *[hashSize]byte, asks []resumeAsk) ([]*prefixHash, error) {
	out := make([]*prefixHash, len(asks))
	buf := make([]byte, 256<<10)
	for i, a := range asks {
		e := &d.o.Entries[a.Index]
		st := &d.state[a.Index]
		name, want := e.Path+partSuffix, st.partInfo
		var sum fileSum
		var extra io.Writer
		if st.candidate {
			name, want = e.Path, st.info
			sum = newFileSum()
			extra = sum
		}
		f, err := d.openPlanned(name, os.O_RDONLY, want)
		if err != nil {
			return nil, fmt.Errorf("cannot read \"%s\": %w", name, err)
		}
		ph, n, err := hashPrefix(ctx, key, f, a.Have, extra, buf)
		f.Close()
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return nil, fmt.Errorf("cannot read \"%s\": %w", name, err)
		}
		if n != a.Have {
			continue
		}
		out[i] = &ph
		if st.candidate {
			d.held[a.Index] = sum.sum()
		}
	}
	return out, nil
}

// keep records that file idx's first n bytes matched the sender's.
func (d *disk) keep(idx int, n int64) {
	d.kept[idx] = n
	d.resumed += n
}

// differentContent is the refusal to replace a complete file of the offered
// name, size and time whose bytes are not the sender's.
func differentContent(e *entry) error {
	return fmt.Errorf("%w: \"%s\" is already in the output folder with different content; nothing was overwritten", ErrExists, e.Path)
}

// open prepares file idx for data from offset on. It returns the sink, or
// with skipped set when the whole file is already in place.
func (d *disk) open(idx int, offset int64, h fileSum) (s sink, skipped bool, err error) {
	e := &d.o.Entries[idx]
	st := &d.state[idx]
	have, kept := d.kept[idx]
	part := e.Path + partSuffix
	switch {
	case kept && offset != have:
		return nil, false, protocolError("\"%s\" starts at byte %d, not at the %d bytes both sides agreed to keep", e.Path, offset, have)
	case kept && st.candidate:
		return nil, true, nil
	case kept:
		f, err := d.openPlanned(part, os.O_RDWR, st.partInfo)
		if err != nil {
			return nil, false, fmt.Errorf("cannot open \"%s\": %w", part, err)
		}
		// Re-read the prefix: the checksum covers the whole file.
		n, err := io.CopyBuffer(h, io.LimitReader(f, offset), make([]byte, 256<<10))
		if err == nil && n != offset {
			err = errors.New("it shrank")
		}
		if err == nil {
			err = f.Truncate(offset)
		}
		if err != nil {
			f.Close()
			return nil, false, fmt.Errorf("cannot resume \"%s\": %w", part, err)
		}
		d.opened[idx] = true
		return newFileSinkAt(f, offset, e.Size, &d.directBuf, d.release), false, nil
	case offset != 0:
		return nil, false, protocolError("\"%s\" resumes at byte %d, which the receiver did not keep", e.Path, offset)
	case st.candidate && !d.overwrite:
		return nil, false, differentContent(e)
	case st.skip:
		return discardSink{}, false, nil
	}
	f, err := d.createPart(part)
	if err != nil {
		return nil, false, fmt.Errorf("cannot create \"%s\": %w", part, err)
	}
	d.opened[idx] = true
	return newFileSink(f, e.Size, &d.directBuf, d.release), false, nil
}

// openPlanned opens a file plan saw, refusing anything else now at its name:
// a link planted since (symbolic or hard) would make bob read another file
// or write through it.
func (d *disk) openPlanned(name string, flag int, want fs.FileInfo) (*os.File, error) {
	f, err := d.openFile(name, flag, 0)
	if err != nil {
		return nil, unwrapPathError(err)
	}
	fi, err := f.Stat()
	switch {
	case err != nil:
	case want == nil || !fi.Mode().IsRegular() || !os.SameFile(fi, want):
		err = errors.New("it was replaced after bob looked at the output folder")
	case sysio.LinkCount(fi) != 1:
		err = errors.New("it has other names (hard links) and bob writes only to files of its own")
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// createPart makes a new part file. A stale one (or anything planted at its
// name) is removed first, not opened: O_EXCL never follows a link, so a
// link to another file cannot redirect the write.
func (d *disk) createPart(part string) (*os.File, error) {
	r, base, err := d.dirs.split(part)
	if err != nil {
		return nil, unwrapPathError(err)
	}
	if err := r.Remove(base); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, unwrapPathError(err)
	}
	f, err := r.OpenFile(base, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, unwrapPathError(err)
	}
	return f, nil
}

// keptBytes is how many bytes part files hold in the output folder for
// this offer, from this session or an earlier one: what a new transfer of
// the same files can resume from. Files moved into place are not counted.
func (d *disk) keptBytes() int64 {
	var n int64
	for i := range d.o.Entries {
		if d.o.Entries[i].Kind == kindDir || (!d.opened[i] && d.state[i].part < 0) {
			continue
		}
		if fi, err := d.lstat(d.o.Entries[i].Path + partSuffix); err == nil && fi.Mode().IsRegular() {
			n += fi.Size()
		}
	}
	return n
}

// commit queues a verified file for syncing and renaming; it returns the
// indexes of files now in place.
func (d *disk) commit(cur *incoming, size int64) ([]int, error) {
	pc := pendingCommit{idx: cur.idx, size: size}
	if fs, ok := cur.sink.(*fileSink); ok {
		if err := fs.finish(); err != nil {
			return nil, err
		}
		pc.f, pc.holes = fs.f, fs.holes
		cur.sink = nil // owned by the batch now
	}
	d.batch = append(d.batch, pc)
	d.batchBytes += size
	if len(d.batch) >= commitBatchFiles || d.batchBytes >= commitBatchBytes {
		return d.flush()
	}
	return nil, nil
}

// flush makes the batch durable, then renames each file into place with
// its mode and time. A part file is renamed only after it was verified and
// synced.
func (d *disk) flush() ([]int, error) {
	batch := d.batch
	d.batch, d.batchBytes = nil, 0
	var files []*os.File
	var err error
	for _, pc := range batch {
		if pc.f == nil {
			continue
		}
		if pc.holes && err == nil {
			err = pc.f.Truncate(pc.size)
		}
		if err == nil {
			err = pc.f.Chmod(fileMode(d.o.Entries[pc.idx].Mode))
		}
		files = append(files, pc.f)
	}
	if err == nil {
		err = sysio.SyncFiles(files)
	}
	for _, f := range files {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		return nil, fmt.Errorf("writing to the output folder: %w", diskError(err))
	}
	done := make([]int, 0, len(batch))
	for _, pc := range batch {
		if pc.f != nil {
			if err := d.place(pc.idx); err != nil {
				return done, err
			}
		}
		done = append(done, pc.idx)
	}
	return done, nil
}

func (d *disk) place(idx int) error {
	e := &d.o.Entries[idx]
	r, base, err := d.dirs.split(e.Path)
	if err != nil {
		return fmt.Errorf("cannot move \"%s\" into place: %w", e.Path, unwrapPathError(err))
	}
	part := base + partSuffix
	if mt := e.mtime(); !mt.IsZero() {
		// Best effort: some file systems refuse some times; the content is
		// what was verified.
		_ = r.Chtimes(part, mt, mt)
	}
	if !d.overwrite {
		// Checked before accepting; check again in case something appeared since.
		if _, err := r.Lstat(base); err == nil {
			return &ExistsError{Names: []string{e.Path}}
		}
	}
	if err := r.Rename(part, base); err != nil {
		return fmt.Errorf("cannot move \"%s\" into place: %w", e.Path, unwrapPathError(err))
	}
	return nil
}

// finishDirs gives created folders their sent times, deepest first (writing
// files into a folder changes its time).
func (d *disk) finishDirs() {
	for i := len(d.o.Entries) - 1; i >= 0; i-- {
		e := &d.o.Entries[i]
		if e.Kind == kindDir && d.state[i].newDir && e.MTime != 0 {
			_ = d.root.Chtimes(osPath(e.Path), e.mtime(), e.mtime())
		}
	}
}

func diskError(err error) error {
	if sysio.IsNoSpace(err) {
		return fmt.Errorf("%w: %w", ErrNoSpace, err)
	}
	return err
}

// absDir is dir made absolute for display; on error dir itself.
func absDir(dir string) string {
	if a, err := filepath.Abs(dir); err == nil {
		return a
	}
	return dir
}
