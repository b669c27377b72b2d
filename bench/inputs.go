//go:build linux

package main

import (
	"bufio"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// input is what one case sends: a file or a folder, and what must arrive.
type input struct {
	name  string   // case name
	path  string   // the path given to bob send
	bytes int64    // payload bytes
	files int      // regular files
	want  manifest // keyed by path relative to filepath.Dir(path)
}

// fileSum identifies a file's content.
type fileSum struct {
	Size int64
	Sum  [sha256.Size]byte
}

// manifest maps slash-separated relative paths to their content.
type manifest map[string]fileSum

// seededRand returns a deterministic stream for one purpose of one run, so
// that changing one input's generator does not change the others.
func seededRand(seed uint64, purpose string) *rand.ChaCha8 {
	var key [32]byte
	binary.LittleEndian.PutUint64(key[:8], seed)
	sum := sha256.Sum256([]byte(purpose))
	copy(key[8:], sum[:24])
	return rand.NewChaCha8(key)
}

// writeRandom writes n seeded random bytes to w.
func writeRandom(w io.Writer, n int64, seed uint64, purpose string) error {
	_, err := io.CopyN(w, seededRand(seed, purpose), n)
	return err
}

// corpus streams the Go source files under root, in lexical order, over and
// over: highly compressible, realistic text that is the same on every run
// with the same Go installation.
type corpus struct {
	files []string
	next  int
	cur   *os.File
}

func newCorpus(root string) (*corpus, error) {
	var files []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() && strings.HasSuffix(p, ".go") {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading Go sources for the compressible input: %w", err)
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("no Go source files under %s for the compressible input", root)
	}
	sort.Strings(files) // WalkDir is lexical per directory; make the whole order explicit
	return &corpus{files: files}, nil
}

// Read never returns io.EOF: after the last file it starts again. An empty
// pass (all files empty) is reported as an error instead of spinning.
func (c *corpus) Read(p []byte) (int, error) {
	for range 2 * len(c.files) {
		if c.cur == nil {
			f, err := os.Open(c.files[c.next])
			if err != nil {
				return 0, err
			}
			c.cur = f
			c.next = (c.next + 1) % len(c.files)
		}
		n, err := c.cur.Read(p)
		if n > 0 {
			return n, nil
		}
		c.cur.Close()
		c.cur = nil
		if err != nil && !errors.Is(err, io.EOF) {
			return 0, err
		}
	}
	return 0, errors.New("the Go source files for the compressible input are all empty")
}

func (c *corpus) Close() error {
	if c.cur != nil {
		return c.cur.Close()
	}
	return nil
}

// writeCompressible writes n bytes of concatenated Go source to w.
func writeCompressible(w io.Writer, n int64, src *corpus) error {
	_, err := io.CopyN(w, src, n)
	return err
}

// createFile writes a file of n bytes from gen and returns its fileSum.
func createFile(path string, n int64, gen func(io.Writer, int64) error) (fileSum, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fileSum{}, err
	}
	f, err := os.Create(path)
	if err != nil {
		return fileSum{}, err
	}
	h := sha256.New()
	bw := bufio.NewWriterSize(io.MultiWriter(f, h), int(min(max(n, 4*kib), 1*mib)))
	err = gen(bw, n)
	if err == nil {
		err = bw.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fileSum{}, fmt.Errorf("writing input %s: %w", path, err)
	}
	return sumOf(h, n), nil
}

func sumOf(h hash.Hash, n int64) fileSum {
	s := fileSum{Size: n}
	h.Sum(s.Sum[:0])
	return s
}

// mixedFile is one file of the mixed-sizes folder.
type mixedFile struct {
	rel          string // relative to the folder
	size         int64
	compressible bool
}

// mixedLayout lays out the mixed folder for inputs of big bytes: one large
// file, a few medium ones, many small ones and some empty ones, nested a few
// levels deep, half of them compressible.
func mixedLayout(big int64, seed uint64) []mixedFile {
	r := rand.New(seededRand(seed, "mixed layout"))
	var out []mixedFile
	add := func(size int64) {
		i := len(out)
		depth := r.IntN(4)
		parts := []string{}
		for d := range depth {
			parts = append(parts, fmt.Sprintf("d%d-%d", d, r.IntN(3)))
		}
		parts = append(parts, fmt.Sprintf("file%04d.dat", i))
		out = append(out, mixedFile{rel: strings.Join(parts, "/"), size: size, compressible: i%2 == 1})
	}
	add(big / 8)
	for range 8 {
		add(big / 128)
	}
	for range 64 {
		add(r.Int64N(min(256*kib, big/64) + 1))
	}
	for range 256 {
		add(r.Int64N(min(8*kib, big/64) + 1))
	}
	for range 4 {
		add(0)
	}
	return out
}

// inputSpec says which inputs to generate.
type inputSpec struct {
	size       int64
	smallFiles int
	seed       uint64
	goSrc      string // root of the compressible corpus (GOROOT/src)
}

// generateInputs writes the inputs for the given cases under dir. The random
// file is always made: the ceiling measurement sends it.
func generateInputs(dir string, spec inputSpec, cases []string) (map[string]*input, error) {
	out := map[string]*input{}
	var src *corpus
	getCorpus := func() (*corpus, error) {
		if src != nil {
			return src, nil
		}
		var err error
		src, err = newCorpus(spec.goSrc)
		return src, err
	}
	defer func() {
		if src != nil {
			src.Close()
		}
	}()

	random := filepath.Join(dir, "random.bin")
	sum, err := createFile(random, spec.size, func(w io.Writer, n int64) error {
		return writeRandom(w, n, spec.seed, "random")
	})
	if err != nil {
		return nil, err
	}
	out[caseRandom] = &input{name: caseRandom, path: random, bytes: spec.size, files: 1, want: manifest{"random.bin": sum}}

	for _, name := range cases {
		switch name {
		case caseCompressible:
			c, err := getCorpus()
			if err != nil {
				return nil, err
			}
			p := filepath.Join(dir, "compressible.go.txt")
			sum, err := createFile(p, spec.size, func(w io.Writer, n int64) error { return writeCompressible(w, n, c) })
			if err != nil {
				return nil, err
			}
			out[name] = &input{name: name, path: p, bytes: spec.size, files: 1, want: manifest{"compressible.go.txt": sum}}
		case caseSmall:
			in := &input{name: name, path: filepath.Join(dir, "small"), want: manifest{}}
			for i := range spec.smallFiles {
				rel := fmt.Sprintf("small/%03d/%05d.bin", i/1000, i)
				purpose := fmt.Sprintf("small %d", i)
				sum, err := createFile(filepath.Join(dir, filepath.FromSlash(rel)), 4*kib, func(w io.Writer, n int64) error {
					return writeRandom(w, n, spec.seed, purpose)
				})
				if err != nil {
					return nil, err
				}
				in.want[rel] = sum
				in.bytes += sum.Size
				in.files++
			}
			out[name] = in
		case caseMixed:
			c, err := getCorpus()
			if err != nil {
				return nil, err
			}
			in := &input{name: name, path: filepath.Join(dir, "mixed"), want: manifest{}}
			for _, mf := range mixedLayout(spec.size, spec.seed) {
				rel := "mixed/" + mf.rel
				gen := func(w io.Writer, n int64) error { return writeRandom(w, n, spec.seed, rel) }
				if mf.compressible {
					gen = func(w io.Writer, n int64) error { return writeCompressible(w, n, c) }
				}
				sum, err := createFile(filepath.Join(dir, filepath.FromSlash(rel)), mf.size, gen)
				if err != nil {
					return nil, err
				}
				in.want[rel] = sum
				in.bytes += sum.Size
				in.files++
			}
			out[name] = in
		}
	}
	return out, nil
}

// hashTree returns the manifest of every regular file under dir, keyed by
// slash-separated paths relative to dir. Anything that is not a regular file
// or a directory is an error: bob must not create it.
func hashTree(dir string) (manifest, error) {
	m := manifest{}
	buf := make([]byte, 1*mib)
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if !d.Type().IsRegular() {
			return fmt.Errorf("%s is not a regular file", rel)
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		h := sha256.New()
		n, err := io.CopyBuffer(h, f, buf)
		if err != nil {
			return err
		}
		m[rel] = sumOf(h, n)
		return nil
	})
	return m, err
}

// diffManifests describes how got differs from want, or returns "" when they
// are the same. At most a few differences are listed.
func diffManifests(want, got manifest) string {
	var problems []string
	keys := make([]string, 0, len(want)+len(got))
	for k := range want {
		keys = append(keys, k)
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		w, inWant := want[k]
		g, inGot := got[k]
		switch {
		case !inGot:
			problems = append(problems, "missing "+k)
		case !inWant:
			problems = append(problems, "unexpected "+k)
		case w.Size != g.Size:
			problems = append(problems, fmt.Sprintf("%s has %d bytes, want %d", k, g.Size, w.Size))
		case w.Sum != g.Sum:
			problems = append(problems, k+" has different content")
		}
	}
	if len(problems) == 0 {
		return ""
	}
	const show = 5
	if len(problems) > show {
		return strings.Join(problems[:show], "; ") + fmt.Sprintf("; and %d more", len(problems)-show)
	}
	return strings.Join(problems, "; ")
}
