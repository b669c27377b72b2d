package transfer

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// sourceRef is where the sender reads an entry from, and what the walk saw
// there: minutes can pass between the offer and the accept, and the file
// sent must be the one offered, not whatever was put at its name since.
type sourceRef struct {
	root int    // index into outgoing.dirs, or -1 for a file named on its own
	path string // relative to that folder, or the path as given
	info fs.FileInfo
}

// sourceRoots opens each sent folder as an os.Root the first time a file
// in it is read, so a link swapped in after the walk (of the file or of a
// folder on its way) cannot lead outside the folder.
type sourceRoots struct {
	dirs  []string
	roots []*os.Root
}

func (r *sourceRoots) open(src sourceRef) (*os.File, error) {
	var f *os.File
	var err error
	if src.root < 0 {
		// A file named on its own: a link there was followed when it was
		// offered, as the person named it; the identity check below holds
		// it to the same file.
		f, err = os.Open(src.path)
	} else {
		var root *os.Root
		if root, err = r.root(src.root); err == nil {
			f, err = root.Open(src.path)
			if err != nil {
				// A link leading out of the folder (at the file or a folder
				// on its way) is refused by the root; say why rather than
				// "path escapes from parent".
				fi, lerr := root.Lstat(src.path)
				if lerr == nil && !sameSource(fi, src.info) ||
					lerr != nil && !errors.Is(lerr, fs.ErrNotExist) && !errors.Is(lerr, fs.ErrPermission) {
					err = fmt.Errorf("%w; it was not sent", ErrReplaced)
				}
			}
		}
	}
	if err != nil {
		return nil, unwrapPathError(err)
	}
	fi, err := f.Stat()
	if err == nil && !sameSource(fi, src.info) {
		err = fmt.Errorf("%w; it was not sent", ErrReplaced)
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

func (r *sourceRoots) root(i int) (*os.Root, error) {
	if r.roots == nil {
		r.roots = make([]*os.Root, len(r.dirs))
	}
	if r.roots[i] == nil {
		root, err := os.OpenRoot(r.dirs[i])
		if err != nil {
			return nil, err
		}
		r.roots[i] = root
	}
	return r.roots[i], nil
}

// close closes the roots; they were only read through, so a failed close
// loses nothing.
func (r *sourceRoots) close() {
	for _, root := range r.roots {
		if root != nil {
			root.Close()
		}
	}
}

// sameSource reports whether fi is the regular file the walk saw. The type
// is compared too: a link made where the file was removed may get its
// freed inode number.
func sameSource(fi, walked fs.FileInfo) bool {
	return fi.Mode().IsRegular() && os.SameFile(fi, walked)
}
