// Package ci holds tests that keep the tree tidy: gofmt, go vet, staticcheck
// and go mod tidy, so that `go test ./...` is the whole of CI's verdict.
package ci

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// moduleRoot is two levels up from this package.
func moduleRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("module root not found: %v", err)
	}
	return root
}

func runIn(t *testing.T, dir string, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

func TestGofmt(t *testing.T) {
	root := moduleRoot(t)
	out := runIn(t, root, "gofmt", "-l", ".")
	if strings.TrimSpace(out) != "" {
		t.Errorf("gofmt would change these files (run gofmt -w):\n%s", out)
	}
}

func TestGoModTidy(t *testing.T) {
	root := moduleRoot(t)
	runIn(t, root, "go", "mod", "tidy", "-diff")
}

func TestGoVet(t *testing.T) {
	runIn(t, moduleRoot(t), "go", "vet", "./...")
}

func TestStaticcheck(t *testing.T) {
	runIn(t, moduleRoot(t), "go", "tool", "staticcheck", "./...")
}
