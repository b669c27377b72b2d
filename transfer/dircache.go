package transfer

import (
	"os"
	"path/filepath"
	"strings"
)

// dirCache keeps recently used folders of the output tree open as roots, so
// that an operation on "a/b/c.txt" is one system call relative to "a/b"
// rather than a walk from the top (os.Root resolves paths one component at
// a time). Entries arrive folder by folder, so a small cache suffices.
type dirCache struct {
	root  *os.Root
	dirs  map[string]*os.Root
	order []string
}

const dirCacheSize = 32

func newDirCache(root *os.Root) *dirCache {
	return &dirCache{root: root, dirs: make(map[string]*os.Root)}
}

// split returns the root holding the slash-separated path p and p's last
// component.
func (c *dirCache) split(p string) (*os.Root, string, error) {
	i := strings.LastIndexByte(p, '/')
	if i < 0 {
		return c.root, p, nil
	}
	dir, base := p[:i], p[i+1:]
	if r, ok := c.dirs[dir]; ok {
		return r, base, nil
	}
	r, err := c.root.OpenRoot(filepath.FromSlash(dir))
	if err != nil {
		return nil, "", err
	}
	if len(c.order) >= dirCacheSize {
		old := c.order[0]
		c.order = c.order[1:]
		c.dirs[old].Close()
		delete(c.dirs, old)
	}
	c.dirs[dir] = r
	c.order = append(c.order, dir)
	return r, base, nil
}

func (c *dirCache) close() {
	for _, r := range c.dirs {
		r.Close()
	}
	c.dirs, c.order = nil, nil
}
