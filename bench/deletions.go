//go:build linux

package main

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// ext4 without a journal (as on many VM images) skips, when it creates a
// file, every free inode whose deletion is under a minute old, or under six
// minutes while its inode table block is not yet written back. Right after
// a run deletes tens of thousands of files, the next run's small-files case
// creates files at a third of the usual rate. The benchmark records its own
// clean-up so the next run can say so instead of reporting a slow disk as
// slow bob.
const (
	deletionsFile   = "bob-bench-deleted.json"
	deletionsWindow = 6 * time.Minute
	deletionsMany   = 1000
)

// deletions is what a run's clean-up removed, and when.
type deletions struct {
	At    time.Time `json:"at"`
	Files int       `json:"files"`
}

// removeWorkDir deletes the work directory and, when many files went,
// records how many in its parent directory for the next run's deletionsNote.
func removeWorkDir(work string) error {
	files := 0
	// A failed walk only makes the count smaller.
	_ = filepath.WalkDir(work, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			files++
		}
		return nil
	})
	if err := os.RemoveAll(work); err != nil {
		return err
	}
	if files < deletionsMany {
		return nil // too few to matter; an earlier run's record stays
	}
	b, err := json.Marshal(deletions{At: time.Now(), Files: files})
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(filepath.Dir(work), deletionsFile), b, 0o644)
}

// deletionsNote warns when an earlier run's clean-up in parent is recent
// enough at now, when the small-files case starts, to slow its file creation. A missing or unreadable record
// means no warning: it is advice, not a measurement.
func deletionsNote(parent string, now time.Time) string {
	b, err := os.ReadFile(filepath.Join(parent, deletionsFile))
	if err != nil {
		return ""
	}
	var d deletions
	if json.Unmarshal(b, &d) != nil || d.Files < deletionsMany {
		return ""
	}
	age := now.Sub(d.At)
	if age < 0 || age >= deletionsWindow {
		return ""
	}
	return fmt.Sprintf("an earlier run deleted %d files %s before the small-files case started; ext4 without a journal skips inodes freed in the last 1–6 minutes when it creates files, so the small-files figure may be low: runs from %s on are clear of it",
		d.Files, age.Round(time.Second), d.At.Add(deletionsWindow).Format("15:04:05"))
}
