package appliance

import (
	"bytes"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"
)

// Module is a kernel module file and what its .modinfo section says.
type Module struct {
	// Name is the module's name, as other modules' depends= lists use it.
	Name string
	// Depends are the modules that must be loaded first.
	Depends []string
	// Path is where the .ko file is.
	Path string
}

// maxModinfo bounds the .modinfo section read from a module file.
const maxModinfo = 1 << 20

// ReadModule reads the name and dependencies of the kernel module (.ko) in r.
// Debian's kernel package has no modules.dep, so a module's own .modinfo
// section is the only record of what it needs. The file name is the
// fallback when .modinfo has no name= entry.
func ReadModule(r io.ReaderAt, path string) (Module, error) {
	f, err := elf.NewFile(r)
	if err != nil {
		return Module{}, fmt.Errorf("kernel module %s is not an ELF file: %w", path, err)
	}
	s := f.Section(".modinfo")
	if s == nil {
		return Module{}, fmt.Errorf("kernel module %s has no .modinfo section", path)
	}
	if s.Type == elf.SHT_NOBITS || s.Size > maxModinfo {
		return Module{}, fmt.Errorf("kernel module %s has an unusable .modinfo section", path)
	}
	data, err := s.Data()
	if err != nil {
		return Module{}, fmt.Errorf("reading .modinfo of kernel module %s: %w", path, err)
	}
	m, err := ParseModinfo(data)
	if err != nil {
		return Module{}, fmt.Errorf("kernel module %s: %w", path, err)
	}
	if m.Name == "" {
		m.Name = ModuleName(path)
		if !validModuleName(m.Name) {
			return Module{}, fmt.Errorf("kernel module file %s has no usable module name", path)
		}
	}
	m.Path = path
	return m, nil
}

// ParseModinfo parses the contents of a .modinfo section: NUL-separated
// key=value strings, of which it keeps name= and depends=.
func ParseModinfo(data []byte) (Module, error) {
	var m Module
	seenDepends := false
	for entry := range bytes.SplitSeq(data, []byte{0}) {
		key, value, ok := bytes.Cut(entry, []byte{'='})
		if !ok {
			continue // padding between entries, or a stray string
		}
		switch string(key) {
		case "name":
			if !validModuleName(string(value)) {
				return Module{}, fmt.Errorf("invalid module name %q in .modinfo", value)
			}
			m.Name = string(value)
		case "depends":
			if seenDepends {
				return Module{}, errors.New("two depends= entries in .modinfo")
			}
			seenDepends = true
			for d := range strings.SplitSeq(string(value), ",") {
				if d == "" {
					continue
				}
				d = normalizeModuleName(d)
				if !validModuleName(d) {
					return Module{}, fmt.Errorf("invalid dependency %q in .modinfo", d)
				}
				if !slices.Contains(m.Depends, d) {
					m.Depends = append(m.Depends, d)
				}
			}
		}
	}
	return m, nil
}

// ModuleName is the module name for a .ko file path: its base name without
// the extension, with dashes turned into underscores as the kernel does.
func ModuleName(path string) string {
	base := filepath.Base(path)
	base = strings.TrimSuffix(base, ".ko")
	return normalizeModuleName(base)
}

func normalizeModuleName(s string) string { return strings.ReplaceAll(s, "-", "_") }

func validModuleName(s string) bool {
	if s == "" || len(s) > 56 { // MODULE_NAME_LEN - 1 on 64-bit kernels
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}

// LoadOrder orders mods so that every module comes after the modules it
// depends on. Every dependency must be among mods. Modules that do not
// depend on each other keep the order of their names, so the result is the
// same for the same set of modules.
func LoadOrder(mods []Module) ([]Module, error) {
	byName := make(map[string]Module, len(mods))
	for _, m := range mods {
		if _, dup := byName[m.Name]; dup {
			return nil, fmt.Errorf("kernel module %s is present twice", m.Name)
		}
		byName[m.Name] = m
	}
	names := make([]string, 0, len(byName))
	for n := range byName {
		names = append(names, n)
	}
	slices.Sort(names)

	const (
		unvisited = iota
		visiting
		done
	)
	state := make(map[string]int, len(mods))
	order := make([]Module, 0, len(mods))
	var visit func(name string, path []string) error
	visit = func(name string, path []string) error {
		switch state[name] {
		case done:
			return nil
		case visiting:
			return fmt.Errorf("kernel modules depend on each other in a cycle: %s", strings.Join(append(path, name), " -> "))
		}
		m := byName[name]
		state[name] = visiting
		deps := slices.Sorted(slices.Values(m.Depends))
		for _, d := range deps {
			if _, ok := byName[d]; !ok {
				return fmt.Errorf("kernel module %s needs module %s, which is missing", name, d)
			}
			if err := visit(d, append(path, name)); err != nil {
				return err
			}
		}
		state[name] = done
		order = append(order, m)
		return nil
	}
	for _, n := range names {
		if err := visit(n, nil); err != nil {
			return nil, err
		}
	}
	return order, nil
}

// Closure returns the modules named by roots and everything they depend on,
// in load order. find returns the module of a given name, or an error if
// there is none.
func Closure(roots []string, find func(name string) (Module, error)) ([]Module, error) {
	found := map[string]Module{}
	queue := slices.Clone(roots)
	for len(queue) > 0 {
		name := normalizeModuleName(queue[0])
		queue = queue[1:]
		if _, ok := found[name]; ok {
			continue
		}
		m, err := find(name)
		if err != nil {
			return nil, err
		}
		if m.Name != name {
			return nil, fmt.Errorf("kernel module file %s calls itself %s, not %s", m.Path, m.Name, name)
		}
		found[name] = m
		queue = append(queue, m.Depends...)
	}
	mods := make([]Module, 0, len(found))
	for _, m := range found {
		mods = append(mods, m)
	}
	return LoadOrder(mods)
}
