package transfer

import (
	"fmt"
	"runtime"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/zeebo/blake3"
	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"
)

// nameRules are the file-name rules of the receiving system.
type nameRules struct {
	Windows     bool // reserved characters and device names, no trailing dot or space
	RequireUTF8 bool // Windows and macOS store names as Unicode
}

// localNameRules are the rules of the system bob runs on.
func localNameRules() nameRules {
	return nameRules{
		Windows:     runtime.GOOS == "windows",
		RequireUTF8: runtime.GOOS == "windows" || runtime.GOOS == "darwin" || runtime.GOOS == "ios",
	}
}

// nameError is a rejected name: the reason and the name, raw.
func nameError(path, reason string) error {
	return fmt.Errorf("%w: \"%s\" %s", ErrUnsafeOffer, path, reason)
}

// checkPath checks one relative slash-separated path against rules.
func checkPath(path string, rules nameRules) error {
	switch {
	case path == "":
		return nameError(path, "is an empty name")
	case len(path) > maxPathBytes:
		return nameError(path[:64]+"…", fmt.Sprintf("is longer than %d bytes", maxPathBytes))
	case path[0] == '/' || (rules.Windows && (path[0] == '\\' || len(path) > 1 && path[1] == ':')):
		return nameError(path, "is an absolute path")
	case strings.IndexByte(path, 0) >= 0:
		return nameError(path, "contains a NUL byte")
	case rules.RequireUTF8 && !utf8.ValidString(path):
		return nameError(path, "is not valid UTF-8")
	}
	for c := range strings.SplitSeq(path, "/") {
		if err := checkComponent(path, c, rules); err != nil {
			return err
		}
	}
	return nil
}

func checkComponent(path, c string, rules nameRules) error {
	switch {
	case c == "":
		return nameError(path, "has an empty path component")
	case c == "." || c == "..":
		return nameError(path, "contains a . or .. component")
	case len(c) > maxComponentBytes:
		return nameError(path, fmt.Sprintf("has a component longer than %d bytes", maxComponentBytes))
	}
	if !rules.Windows {
		return nil
	}
	for _, r := range c {
		if r < 0x20 || strings.ContainsRune(`<>:"|?*\`, r) {
			return nameError(path, "contains a character Windows does not allow in names")
		}
	}
	if last := c[len(c)-1]; last == '.' || last == ' ' {
		return nameError(path, "ends in a dot or space, which Windows drops")
	}
	if windowsReserved(c) {
		return nameError(path, "is a reserved device name on Windows")
	}
	return nil
}

// windowsReserved reports names Windows maps to devices, with or without an
// extension (NUL, nul.txt, COM1, LPT¹).
func windowsReserved(c string) bool {
	base, _, _ := strings.Cut(c, ".")
	base = strings.ToUpper(strings.TrimRight(base, " "))
	switch base {
	case "CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$":
		return true
	}
	if len(base) >= 4 && (strings.HasPrefix(base, "COM") || strings.HasPrefix(base, "LPT")) {
		switch base[3:] {
		case "0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "¹", "²", "³":
			return true
		}
	}
	return false
}

// offerChecker checks an offer's entries in order: every name valid, every
// parent folder declared as a folder before its contents, and no two names
// (including the .bob-part siblings of files) equal after Unicode case
// folding and normalisation. The fold applies on every system: a Linux
// folder may be on a case-insensitive disk, and one sender's offer should
// not be safe on one receiver and not on another.
type offerChecker struct {
	rules nameRules
	fold  cases.Caser
	seen  map[[16]byte]int32 // folded name → index of its entry
	exact []string           // exact path of folder entries, by entry index ("" for files)
	n     int32
	buf   []byte // the folded name being hashed, reused: no allocation per name
}

// grow makes room for n more entries at once, so that a large offer does
// not pay for the map and slice growing step by step (issue 18, item 8:
// the growth cost more than the data).
func (c *offerChecker) grow(n int) {
	if len(c.seen) == 0 {
		c.seen = make(map[[16]byte]int32, 2*n)
	}
	c.exact = slices.Grow(c.exact, n)
}

func newOfferChecker(rules nameRules) *offerChecker {
	return &offerChecker{rules: rules, fold: cases.Fold(), seen: make(map[[16]byte]int32)}
}

// key is the hash of path+suffix (suffix ASCII, lower case) folded.
func (c *offerChecker) key(path, suffix string) [16]byte {
	if isASCII(path) {
		// What the Unicode fold does to ASCII, cheaply and in place.
		c.buf = append(c.buf[:0], path...)
		for i, b := range c.buf {
			if 'A' <= b && b <= 'Z' {
				c.buf[i] = b + 'a' - 'A'
			}
		}
	} else {
		c.buf = append(c.buf[:0], norm.NFC.String(c.fold.String(norm.NFD.String(path)))...)
	}
	c.buf = append(c.buf, suffix...)
	sum := blake3.Sum256(c.buf)
	var out [16]byte
	copy(out[:], sum[:])
	return out
}

// add checks the next entry.
func (c *offerChecker) add(e entry) error {
	idx := c.n
	c.n++
	if e.Kind == kindText {
		c.exact = append(c.exact, "")
		return nil
	}
	if err := checkPath(e.Path, c.rules); err != nil {
		return err
	}
	if e.Kind == kindStream && strings.Contains(e.Path, "/") {
		return nameError(e.Path, "is a stream name with a folder")
	}
	if i := strings.LastIndexByte(e.Path, '/'); i >= 0 {
		parent := e.Path[:i]
		p, ok := c.seen[c.key(parent, "")]
		if !ok || c.exact[p] != parent {
			return nameError(e.Path, "is in a folder the offer did not declare before it")
		}
	}
	if err := c.claim(e.Path, "", idx); err != nil {
		return err
	}
	if e.Kind != kindDir {
		if err := c.claim(e.Path, partSuffix, idx); err != nil {
			return err
		}
	}
	if e.Kind == kindDir {
		c.exact = append(c.exact, e.Path)
	} else {
		c.exact = append(c.exact, "")
	}
	return nil
}

// claim records path+suffix as entry idx's, refusing a name taken before.
// taken reports whether path, or its part file, would collide with a name
// already added or claimed.
func (c *offerChecker) taken(path string) bool {
	_, a := c.seen[c.key(path, "")]
	_, b := c.seen[c.key(path, partSuffix)]
	return a || b
}

func (c *offerChecker) claim(path, suffix string, idx int32) error {
	k := c.key(path, suffix)
	if _, dup := c.seen[k]; dup {
		return nameError(path, "collides with another name in the offer (names must differ in more than case or Unicode form)")
	}
	c.seen[k] = idx
	return nil
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

func asciiLower(s string) string {
	for i := 0; i < len(s); i++ {
		if 'A' <= s[i] && s[i] <= 'Z' {
			return strings.ToLower(s)
		}
	}
	return s
}
