//go:build linux

package main

import (
	"bytes"
	"io"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fakeGoSrc makes a small corpus of Go files, as GOROOT/src would be.
func fakeGoSrc(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	files := map[string]string{
		"b/b.go":         "package b\n\nfunc B() int { return 2 }\n",
		"a/a.go":         "package a\n\n// A is one.\nfunc A() int { return 1 }\n",
		"a/empty.go":     "",
		"a/notes.txt":    "not Go, not used\n",
		"c/d/e/deep.go":  "package e\n",
		"c/d/e/zz_x.go":  strings.Repeat("var x = 1\n", 5000),
		"c/d/e/aa_y.go":  "package e // y\n",
		"testdata/t.go":  "package t\n",
		"vendor/v/v.go":  "package v\n",
		"a/a_test.go":    "package a\n\nimport \"testing\"\n",
		"b/b_windows.go": "package b\n",
	}
	for name, body := range files {
		p := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func TestCorpusRepeatsGoSourceInOrder(t *testing.T) {
	src, err := newCorpus(fakeGoSrc(t))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	var buf bytes.Buffer
	const n = 120000
	if err := writeCompressible(&buf, n, src); err != nil {
		t.Fatal(err)
	}
	if buf.Len() != n {
		t.Fatalf("wrote %d bytes, want %d", buf.Len(), n)
	}
	s := buf.String()
	if !strings.HasPrefix(s, "package a\n\n// A is one.") {
		t.Errorf("corpus does not start with the first Go file in lexical order: %q", s[:40])
	}
	if strings.Contains(s, "not Go") {
		t.Error("corpus includes a non-Go file")
	}
	// The corpus is shorter than n bytes, so it must have started over.
	if strings.Count(s, "// A is one.") < 2 {
		t.Error("corpus did not repeat")
	}
}

func TestCorpusErrors(t *testing.T) {
	if _, err := newCorpus(t.TempDir()); err == nil {
		t.Error("empty directory accepted as a corpus")
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "e.go"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	src, err := newCorpus(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	if err := writeCompressible(io.Discard, 10, src); err == nil {
		t.Error("a corpus of empty files produced bytes instead of an error")
	}
}

func TestGenerateInputsIsDeterministic(t *testing.T) {
	goSrc := fakeGoSrc(t)
	spec := inputSpec{size: 256 * kib, smallFiles: 30, seed: 7, goSrc: goSrc}
	cases := []string{caseCompressible, caseSmall, caseMixed}
	dirA, dirB := t.TempDir(), t.TempDir()
	a, err := generateInputs(dirA, spec, cases)
	if err != nil {
		t.Fatal(err)
	}
	b, err := generateInputs(dirB, spec, cases)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range allCases {
		ia, ib := a[name], b[name]
		if ia == nil || ib == nil {
			t.Fatalf("case %s has no input", name)
		}
		if !maps.Equal(ia.want, ib.want) {
			t.Errorf("%s: two runs with the same seed differ", name)
		}
		if ia.files != len(ia.want) {
			t.Errorf("%s: files = %d, manifest has %d", name, ia.files, len(ia.want))
		}
		var total int64
		for _, s := range ia.want {
			total += s.Size
		}
		if total != ia.bytes {
			t.Errorf("%s: bytes = %d, manifest sums to %d", name, ia.bytes, total)
		}
		// The manifest is what is on disk, keyed relative to the sent path's parent.
		got, err := hashTree(filepath.Dir(ia.path))
		if err != nil {
			t.Fatal(err)
		}
		for rel, sum := range ia.want {
			if got[rel] != sum {
				t.Errorf("%s: %s on disk does not match the manifest", name, rel)
			}
		}
	}
	if a[caseRandom].bytes != spec.size || a[caseCompressible].bytes != spec.size {
		t.Errorf("big inputs are %d and %d bytes, want %d", a[caseRandom].bytes, a[caseCompressible].bytes, spec.size)
	}
	if a[caseSmall].files != 30 || a[caseSmall].bytes != 30*4*kib {
		t.Errorf("small: %d files, %d bytes", a[caseSmall].files, a[caseSmall].bytes)
	}
	var empty int
	for _, s := range a[caseMixed].want {
		if s.Size == 0 {
			empty++
		}
	}
	if empty == 0 {
		t.Error("mixed has no empty file")
	}

	c, err := generateInputs(t.TempDir(), inputSpec{size: 256 * kib, smallFiles: 30, seed: 8, goSrc: goSrc}, cases)
	if err != nil {
		t.Fatal(err)
	}
	if maps.Equal(a[caseRandom].want, c[caseRandom].want) || maps.Equal(a[caseSmall].want, c[caseSmall].want) {
		t.Error("another seed gave the same random inputs")
	}
}

func TestRandomStreamsAreIndependent(t *testing.T) {
	var x, y, z bytes.Buffer
	if err := writeRandom(&x, 1000, 1, "a"); err != nil {
		t.Fatal(err)
	}
	if err := writeRandom(&y, 1000, 1, "b"); err != nil {
		t.Fatal(err)
	}
	if err := writeRandom(&z, 500, 1, "a"); err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(x.Bytes(), y.Bytes()) {
		t.Error("two purposes share a stream")
	}
	if !bytes.Equal(x.Bytes()[:500], z.Bytes()) {
		t.Error("the same purpose gave different bytes")
	}
}

func TestDiffManifests(t *testing.T) {
	sum := func(size int64, b byte) fileSum { s := fileSum{Size: size}; s.Sum[0] = b; return s }
	want := manifest{"d/a": sum(1, 1), "d/b": sum(2, 2), "d/c": sum(3, 3)}
	if d := diffManifests(want, maps.Clone(want)); d != "" {
		t.Errorf("same manifests differ: %s", d)
	}
	got := manifest{"d/a": sum(1, 9), "d/b": sum(5, 2), "d/c.bob-part": sum(3, 3)}
	d := diffManifests(want, got)
	for _, part := range []string{"d/a has different content", "d/b has 5 bytes, want 2", "missing d/c", "unexpected d/c.bob-part"} {
		if !strings.Contains(d, part) {
			t.Errorf("diff %q does not say %q", d, part)
		}
	}
	many := manifest{}
	for i := range 20 {
		many[string(rune('a'+i))] = sum(1, 1)
	}
	if d := diffManifests(many, manifest{}); !strings.Contains(d, "and 15 more") {
		t.Errorf("long diff not shortened: %s", d)
	}
}

func TestHashTreeRejectsSymlinks(t *testing.T) {
	dir := t.TempDir()
	if err := os.Symlink("/etc/passwd", filepath.Join(dir, "link")); err != nil {
		t.Skip("no symlinks here:", err)
	}
	if _, err := hashTree(dir); err == nil {
		t.Error("a symlink in the output was accepted")
	}
}
