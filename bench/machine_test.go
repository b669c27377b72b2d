//go:build linux

package main

import (
	"os"
	"path/filepath"
	"testing"
)

func TestSyncFS(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "f"), make([]byte, 1<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := syncFS(dir); err != nil {
		t.Fatalf("syncFS: %v", err)
	}
	if err := syncFS(filepath.Join(dir, "absent")); err == nil {
		t.Fatal("syncFS of a missing folder succeeded")
	}
}
