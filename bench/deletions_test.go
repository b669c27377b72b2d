//go:build linux

package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestRemoveWorkDirRecordsDeletions(t *testing.T) {
	parent := t.TempDir()
	work := filepath.Join(parent, "bob-bench-1")
	for i := range 1200 {
		dir := filepath.Join(work, "recv", string(rune('a'+i%3)))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("f%d", i)), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := removeWorkDir(work); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(work); !os.IsNotExist(err) {
		t.Fatalf("work directory still there: %v", err)
	}

	note := deletionsNote(parent, time.Now().Add(90*time.Second))
	for _, want := range []string{"deleted 1200 files 1m30s before the small-files case", "ext4 without a journal", "small-files figure may be low"} {
		if !strings.Contains(note, want) {
			t.Errorf("note lacks %q: %q", want, note)
		}
	}
	if note := deletionsNote(parent, time.Now().Add(deletionsWindow+time.Second)); note != "" {
		t.Errorf("a clean-up older than %v still warns: %q", deletionsWindow, note)
	}
}

func TestRemoveWorkDirForgetsFewDeletions(t *testing.T) {
	parent := t.TempDir()
	work := filepath.Join(parent, "bob-bench-1")
	if err := os.MkdirAll(work, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(work, "one"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := removeWorkDir(work); err != nil {
		t.Fatal(err)
	}
	if entries, _ := os.ReadDir(parent); len(entries) != 0 {
		t.Errorf("left after deleting one file: %v", entries)
	}
}

func TestDeletionsNoteIgnoresFewOrUnreadableRecords(t *testing.T) {
	now := time.Now()
	for name, content := range map[string]string{
		"few files": `{"at":"` + now.Add(-time.Minute).Format(time.RFC3339Nano) + `","files":10}`,
		"garbage":   "not json",
		"future":    `{"at":"` + now.Add(time.Hour).Format(time.RFC3339Nano) + `","files":50000}`,
	} {
		parent := t.TempDir()
		if err := os.WriteFile(filepath.Join(parent, deletionsFile), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		if note := deletionsNote(parent, now); note != "" {
			t.Errorf("%s: warns %q", name, note)
		}
	}
	if note := deletionsNote(t.TempDir(), now); note != "" {
		t.Errorf("no record: warns %q", note)
	}
}
