package ci

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// surfacePackages are the packages whose exported surface is deliberate
// (issue 17, item 6).
var surfacePackages = []string{"transfer", "transfer/secure", "session", "relay", "relay/rendezvous", "pake", "tui"}

// keptConsts are exported constants that no other package names but that
// are API all the same, each with its reason.
var keptConsts = map[string]string{
	"transfer.MaxRecordPayload":               "the exported Channel interface's contract",
	"transfer.CompressAuto":                   "a value of Options' compression mode",
	"transfer.CompressOn":                     "a value of Options' compression mode",
	"transfer.CompressOff":                    "a value of Options' compression mode",
	"session.DefaultDirectWindow":             "Config.DirectWindow's default",
	"session.DefaultLateWindow":               "Config.LateWindow's default",
	"session.DefaultBrowseWindow":             "Config.BrowseWindow's default",
	"session.DefaultLocalRelay":               "Config.LocalRelay's default",
	"transfer/secure.DefaultHandshakeTimeout": "Config.HandshakeTimeout's default",
	"transfer/secure.CipherAESGCM":            "a value of Config.ForceCipher",
	"transfer/secure.CipherChaChaPoly":        "a value of Config.ForceCipher",
	"transfer/secure.DataRecord":              "the record type Read and Write own, kept clear by WriteRecord's callers",
}

// TestExportedConstsAreUsed: an exported constant of the packages above is
// named by another package (Examples and external tests count), or is in
// keptConsts; the rest are details of their package and unexported.
func TestExportedConstsAreUsed(t *testing.T) {
	root := moduleRoot(t)
	module := modulePath(t, root)
	fset := token.NewFileSet()
	declared := map[string]bool{} // "dir.Name" of exported constants
	used := map[string]bool{}     // "dir.Name" named from outside dir's package
	walkGo(t, root, func(p string) error {
		f, err := parser.ParseFile(fset, p, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, filepath.Dir(p))
		if err != nil {
			return err
		}
		dir := filepath.ToSlash(rel)
		if !strings.HasSuffix(p, "_test.go") {
			for _, decl := range f.Decls {
				if g, ok := decl.(*ast.GenDecl); ok && g.Tok == token.CONST {
					for _, spec := range g.Specs {
						for _, name := range spec.(*ast.ValueSpec).Names {
							if name.IsExported() {
								declared[dir+"."+name.Name] = true
							}
						}
					}
				}
			}
		}
		// What this file names from the module's other packages (or from
		// its own, in an external test package).
		local := map[string]string{} // import name -> dir
		for _, imp := range f.Imports {
			ip, err := strconv.Unquote(imp.Path.Value)
			if err != nil || !strings.HasPrefix(ip, module+"/") {
				continue
			}
			target := strings.TrimPrefix(ip, module+"/")
			if target == dir && !strings.HasSuffix(f.Name.Name, "_test") {
				continue
			}
			name := path.Base(ip)
			if imp.Name != nil {
				name = imp.Name.Name
			}
			local[name] = target
		}
		ast.Inspect(f, func(n ast.Node) bool {
			if sel, ok := n.(*ast.SelectorExpr); ok {
				if x, ok := sel.X.(*ast.Ident); ok && local[x.Name] != "" {
					used[local[x.Name]+"."+sel.Sel.Name] = true
				}
			}
			return true
		})
		return nil
	})
	var unused []string
	for c := range declared {
		pkg := c[:strings.LastIndex(c, ".")]
		surface := false
		for _, s := range surfacePackages {
			surface = surface || pkg == s
		}
		if surface && !used[c] && keptConsts[c] == "" {
			unused = append(unused, c)
		}
	}
	sort.Strings(unused)
	for _, c := range unused {
		t.Errorf("%s is exported but no other package uses it: unexport it, or add it to keptConsts with why it is API", c)
	}
	for c := range keptConsts {
		if !declared[c] {
			t.Errorf("keptConsts names %s, which is not an exported constant", c)
		}
	}
}

// modulePath reads the module's path from go.mod.
func modulePath(t *testing.T, root string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if m, ok := strings.CutPrefix(l, "module "); ok {
			return strings.TrimSpace(m)
		}
	}
	t.Fatal("go.mod has no module line")
	return ""
}

// TestTestSupportIsInternal: a package that imports "testing" outside its
// tests is support for other packages' tests, not API: it lives under an
// internal/ folder.
func TestTestSupportIsInternal(t *testing.T) {
	root := moduleRoot(t)
	fset := token.NewFileSet()
	walkGo(t, root, func(p string) error {
		if strings.HasSuffix(p, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, p, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		for _, imp := range f.Imports {
			internal := slices.Contains(strings.Split(filepath.ToSlash(rel), "/"), "internal")
			if imp.Path.Value == `"testing"` && !internal {
				t.Errorf("%s imports testing outside a test: test support goes under internal/", rel)
			}
		}
		return nil
	})
}

// walkGo calls fn with the path of every Go file of the module, testdata
// and hidden folders left out.
func walkGo(t *testing.T, root string, fn func(p string) error) {
	t.Helper()
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if n := d.Name(); p != root && (n == "testdata" || strings.HasPrefix(n, ".") || strings.HasPrefix(n, "_")) {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(p, ".go") {
			return nil
		}
		return fn(p)
	})
	if err != nil {
		t.Fatal(err)
	}
}
