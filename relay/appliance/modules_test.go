package appliance

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// elfWithSection returns a minimal ELF64 relocatable object holding one
// section with the given name and contents, the way a .ko holds .modinfo.
func elfWithSection(name string, data []byte) []byte {
	shstrtab := append([]byte("\x00"+name+"\x00.shstrtab\x00"), 0)
	const ehdrSize, shdrSize = 64, 64
	dataOff := ehdrSize
	strOff := dataOff + len(data)
	shOff := (strOff + len(shstrtab) + 7) &^ 7

	var b bytes.Buffer
	le := binary.LittleEndian
	// ELF header.
	b.Write([]byte{0x7f, 'E', 'L', 'F', 2 /* 64-bit */, 1 /* LE */, 1 /* version */, 0})
	b.Write(make([]byte, 8))
	binary.Write(&b, le, uint16(1))  // ET_REL
	binary.Write(&b, le, uint16(62)) // EM_X86_64
	binary.Write(&b, le, uint32(1))  // EV_CURRENT
	binary.Write(&b, le, uint64(0))  // entry
	binary.Write(&b, le, uint64(0))  // phoff
	binary.Write(&b, le, uint64(shOff))
	binary.Write(&b, le, uint32(0)) // flags
	binary.Write(&b, le, uint16(ehdrSize))
	binary.Write(&b, le, uint16(0)) // phentsize
	binary.Write(&b, le, uint16(0)) // phnum
	binary.Write(&b, le, uint16(shdrSize))
	binary.Write(&b, le, uint16(3)) // shnum
	binary.Write(&b, le, uint16(2)) // shstrndx
	b.Write(data)
	b.Write(shstrtab)
	b.Write(make([]byte, shOff-b.Len()))
	section := func(nameOff, typ uint32, off, size int) {
		binary.Write(&b, le, nameOff)
		binary.Write(&b, le, typ)
		binary.Write(&b, le, uint64(0)) // flags
		binary.Write(&b, le, uint64(0)) // addr
		binary.Write(&b, le, uint64(off))
		binary.Write(&b, le, uint64(size))
		binary.Write(&b, le, uint32(0)) // link
		binary.Write(&b, le, uint32(0)) // info
		binary.Write(&b, le, uint64(1)) // addralign
		binary.Write(&b, le, uint64(0)) // entsize
	}
	section(0, 0, 0, 0)
	section(1, 1 /* PROGBITS */, dataOff, len(data))
	section(uint32(1+len(name)+1), 3 /* STRTAB */, strOff, len(shstrtab))
	return b.Bytes()
}

func modinfo(entries ...string) []byte {
	return []byte(strings.Join(entries, "\x00") + "\x00")
}

func TestReadModule(t *testing.T) {
	ko := elfWithSection(".modinfo", modinfo(
		"license=GPL", "depends=net_failover,virtio,virtio_ring", "retpoline=Y",
		"intree=Y", "name=virtio_net", "vermagic=6.1.0 SMP mod_unload modversions"))
	m, err := ReadModule(bytes.NewReader(ko), "/lib/modules/virtio_net.ko")
	if err != nil {
		t.Fatal(err)
	}
	want := Module{Name: "virtio_net", Depends: []string{"net_failover", "virtio", "virtio_ring"}, Path: "/lib/modules/virtio_net.ko"}
	if m.Name != want.Name || m.Path != want.Path || !slices.Equal(m.Depends, want.Depends) {
		t.Errorf("ReadModule = %+v, want %+v", m, want)
	}
}

func TestReadModuleNameFromFile(t *testing.T) {
	ko := elfWithSection(".modinfo", modinfo("depends=", "license=GPL"))
	m, err := ReadModule(bytes.NewReader(ko), "drivers/char/hw_random/virtio-rng.ko")
	if err != nil {
		t.Fatal(err)
	}
	if m.Name != "virtio_rng" || len(m.Depends) != 0 {
		t.Errorf("ReadModule = %+v, want name virtio_rng and no dependencies", m)
	}
}

func TestReadModuleErrors(t *testing.T) {
	tests := map[string][]byte{
		"not ELF":             []byte("#!/bin/sh\necho not a module\n"),
		"empty":               nil,
		"no .modinfo":         elfWithSection(".text", []byte{0xc3}),
		"bad name":            elfWithSection(".modinfo", modinfo("name=../../etc")),
		"bad dependency":      elfWithSection(".modinfo", modinfo("depends=virtio,a b")),
		"two depends entries": elfWithSection(".modinfo", modinfo("depends=a", "depends=b")),
	}
	for name, data := range tests {
		t.Run(name, func(t *testing.T) {
			if m, err := ReadModule(bytes.NewReader(data), "x.ko"); err == nil {
				t.Errorf("ReadModule = %+v, want an error", m)
			}
		})
	}
}

func TestParseModinfoDependencyNames(t *testing.T) {
	m, err := ParseModinfo(modinfo("depends=virtio-ring,virtio,,virtio_ring", "name=virtio_pci"))
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"virtio_ring", "virtio"}; !slices.Equal(m.Depends, want) {
		t.Errorf("Depends = %q, want %q (dashes as underscores, no empties, no repeats)", m.Depends, want)
	}
}

func names(mods []Module) []string {
	var ns []string
	for _, m := range mods {
		ns = append(ns, m.Name)
	}
	return ns
}

// virtioModules is the dependency graph of Debian 6.1's virtio network
// driver, as the modules' .modinfo sections state it.
var virtioModules = []Module{
	{Name: "virtio_pci", Depends: []string{"virtio_ring", "virtio_pci_modern_dev", "virtio_pci_legacy_dev", "virtio"}},
	{Name: "virtio_net", Depends: []string{"virtio_ring", "virtio", "net_failover"}},
	{Name: "net_failover", Depends: []string{"failover"}},
	{Name: "failover"},
	{Name: "virtio", Depends: []string{"virtio_ring"}},
	{Name: "virtio_ring"},
	{Name: "virtio_pci_legacy_dev"},
	{Name: "virtio_pci_modern_dev"},
}

func TestLoadOrder(t *testing.T) {
	order, err := LoadOrder(virtioModules)
	if err != nil {
		t.Fatal(err)
	}
	got := names(order)
	if len(got) != len(virtioModules) {
		t.Fatalf("LoadOrder = %q, want all %d modules", got, len(virtioModules))
	}
	pos := map[string]int{}
	for i, n := range got {
		pos[n] = i
	}
	for _, m := range virtioModules {
		for _, d := range m.Depends {
			if pos[d] > pos[m.Name] {
				t.Errorf("%s is loaded before its dependency %s: %q", m.Name, d, got)
			}
		}
	}
	// The same set in another order gives the same result.
	rev := slices.Clone(virtioModules)
	slices.Reverse(rev)
	again, err := LoadOrder(rev)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(names(again), got) {
		t.Errorf("LoadOrder depends on input order: %q vs %q", names(again), got)
	}
	want := []string{"failover", "net_failover", "virtio_ring", "virtio", "virtio_net",
		"virtio_pci_legacy_dev", "virtio_pci_modern_dev", "virtio_pci"}
	if !slices.Equal(got, want) {
		t.Errorf("LoadOrder = %q, want %q", got, want)
	}
}

func TestLoadOrderErrors(t *testing.T) {
	tests := map[string]struct {
		mods []Module
		want string
	}{
		"missing": {
			mods: []Module{{Name: "virtio_net", Depends: []string{"virtio"}}},
			want: "virtio_net needs module virtio, which is missing",
		},
		"cycle": {
			mods: []Module{{Name: "a", Depends: []string{"b"}}, {Name: "b", Depends: []string{"c"}}, {Name: "c", Depends: []string{"a"}}},
			want: "cycle: a -> b -> c -> a",
		},
		"self": {
			mods: []Module{{Name: "a", Depends: []string{"a"}}},
			want: "cycle: a -> a",
		},
		"duplicate": {
			mods: []Module{{Name: "a"}, {Name: "a"}},
			want: "present twice",
		},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := LoadOrder(tt.mods)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("LoadOrder error = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestClosure(t *testing.T) {
	byName := map[string]Module{}
	for _, m := range virtioModules {
		byName[m.Name] = m
	}
	byName["virtio_balloon"] = Module{Name: "virtio_balloon", Depends: []string{"virtio"}}
	var asked []string
	find := func(name string) (Module, error) {
		asked = append(asked, name)
		m, ok := byName[name]
		if !ok {
			return Module{}, os.ErrNotExist
		}
		return m, nil
	}
	mods, err := Closure([]string{"virtio-net"}, find)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"failover", "net_failover", "virtio_ring", "virtio", "virtio_net"}
	if got := names(mods); !slices.Equal(got, want) {
		t.Errorf("Closure(virtio-net) = %q, want %q", got, want)
	}
	if slices.Contains(asked, "virtio_balloon") {
		t.Error("Closure looked up a module nothing depends on")
	}
	if _, err := Closure([]string{"e1000"}, find); err == nil {
		t.Error("Closure of an unknown module succeeded")
	}
	misnamed := func(name string) (Module, error) { return Module{Name: "other", Path: "x.ko"}, nil }
	if _, err := Closure([]string{"a"}, misnamed); err == nil {
		t.Error("Closure accepted a module file that names another module")
	}
}

func TestLoadModulesDirectoryOrder(t *testing.T) {
	// The on-disk part of LoadModules, without loading: files named by
	// module, read back and ordered.
	dir := t.TempDir()
	for _, m := range virtioModules {
		info := []string{"name=" + m.Name, "depends=" + strings.Join(m.Depends, ",")}
		if err := os.WriteFile(filepath.Join(dir, m.Name+".ko"), elfWithSection(".modinfo", modinfo(info...)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	paths, _ := filepath.Glob(filepath.Join(dir, "*.ko"))
	var mods []Module
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		m, err := ReadModule(bytes.NewReader(data), p)
		if err != nil {
			t.Fatal(err)
		}
		mods = append(mods, m)
	}
	order, err := LoadOrder(mods)
	if err != nil {
		t.Fatal(err)
	}
	if got := names(order); got[len(got)-1] != "virtio_pci" || got[0] != "failover" {
		t.Errorf("order from files = %q", got)
	}
}

func FuzzReadModule(f *testing.F) {
	f.Add(elfWithSection(".modinfo", modinfo("name=virtio_net", "depends=virtio,virtio_ring")))
	f.Add(elfWithSection(".modinfo", []byte("depends=\x00\x00\x00")))
	f.Add(elfWithSection(".text", nil))
	f.Add([]byte("\x7fELF"))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := ReadModule(bytes.NewReader(data), "fuzz.ko")
		if err != nil {
			return
		}
		if !validModuleName(m.Name) {
			t.Errorf("accepted module name %q", m.Name)
		}
		for _, d := range m.Depends {
			if !validModuleName(d) {
				t.Errorf("accepted dependency %q", d)
			}
		}
	})
}
