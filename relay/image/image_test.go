package main

import (
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cavaliergopher/cpio"

	"github.com/bob-p2p/bob/relay/appliance"
)

// fakeInputs writes a stand-in bob binary and two module files.
func fakeInputs(t *testing.T) (bob string, mods []appliance.Module) {
	t.Helper()
	dir := t.TempDir()
	bob = filepath.Join(dir, "bob")
	if err := os.WriteFile(bob, []byte("\x7fELF pretend bob"), 0o700); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"virtio_ring", "virtio"} {
		p := filepath.Join(dir, "src-"+name+".ko")
		if err := os.WriteFile(p, []byte("module "+name), 0o600); err != nil {
			t.Fatal(err)
		}
		mods = append(mods, appliance.Module{Name: name, Path: p})
	}
	return bob, mods
}

func initramfsBytes(t *testing.T, es []entry) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := writeInitramfs(&b, es); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func gunzip(t *testing.T, b []byte) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if !zr.ModTime.IsZero() || zr.Name != "" {
		t.Errorf("gzip header carries time %v and name %q, want neither", zr.ModTime, zr.Name)
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func TestInitramfsContents(t *testing.T) {
	bob, mods := fakeInputs(t)
	raw := gunzip(t, initramfsBytes(t, initramfsEntries(bob, mods)))

	type file struct {
		mode cpio.FileMode
		data string
	}
	got := map[string]file{}
	var order []string
	r := cpio.NewReader(bytes.NewReader(raw))
	for {
		hdr, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("reading the archive back: %v", err)
		}
		data, err := io.ReadAll(r)
		if err != nil {
			t.Fatal(err)
		}
		if hdr.Uid != 0 || hdr.Guid != 0 || hdr.ModTime.Unix() != 0 {
			t.Errorf("%s: uid %d gid %d mtime %v, want root and time 0", hdr.Name, hdr.Uid, hdr.Guid, hdr.ModTime)
		}
		got[hdr.Name] = file{hdr.Mode, string(data)}
		order = append(order, hdr.Name)
	}
	want := map[string]file{
		"dev":                        {cpio.TypeDir | 0o755, ""},
		"dev/console":                {cpio.TypeChar | 0o600, ""},
		"init":                       {cpio.TypeReg | 0o755, "\x7fELF pretend bob"},
		"lib":                        {cpio.TypeDir | 0o755, ""},
		"lib/modules":                {cpio.TypeDir | 0o755, ""},
		"lib/modules/virtio.ko":      {cpio.TypeReg | 0o644, "module virtio"},
		"lib/modules/virtio_ring.ko": {cpio.TypeReg | 0o644, "module virtio_ring"},
		"proc":                       {cpio.TypeDir | 0o555, ""},
		"sys":                        {cpio.TypeDir | 0o555, ""},
	}
	if len(got) != len(want) {
		t.Errorf("archive holds %q, want %d entries", order, len(want))
	}
	for name, w := range want {
		if g, ok := got[name]; !ok || g != w {
			t.Errorf("%s = %+v (present %v), want %+v", name, g, ok, w)
		}
	}
	if !slices.IsSorted(order) {
		t.Errorf("entries are not in sorted order: %q", order)
	}

	// The library cannot write device numbers, so check the console's
	// newc header field by field: rdevmajor 5, rdevminor 1 is /dev/console.
	i := bytes.Index(raw, []byte("dev/console\x00"))
	if i < 110 {
		t.Fatal("no dev/console header in the archive")
	}
	h := string(raw[i-110 : i])
	field := func(n int) string { return h[6+8*n : 6+8*(n+1)] }
	if h[:6] != "070701" {
		t.Errorf("console header magic %q", h[:6])
	}
	for n, want := range map[int]string{
		1:  "00002180", // mode: character device, 0600
		4:  "00000001", // nlink
		6:  "00000000", // filesize
		9:  "00000005", // rdevmajor
		10: "00000001", // rdevminor
		11: "0000000c", // namesize, with the NUL
	} {
		if got := field(n); got != want {
			t.Errorf("console header field %d = %s, want %s", n, got, want)
		}
	}
}

var time0 = time.Unix(1_700_000_000, 0)

func TestInitramfsIsReproducible(t *testing.T) {
	bob, mods := fakeInputs(t)
	a := initramfsBytes(t, initramfsEntries(bob, mods))
	// Same files listed in another order, with other times on disk.
	slices.Reverse(mods)
	for _, m := range mods {
		if err := os.Chtimes(m.Path, time0, time0); err != nil {
			t.Fatal(err)
		}
	}
	b := initramfsBytes(t, initramfsEntries(bob, mods))
	if !bytes.Equal(a, b) {
		t.Error("the same inputs gave different initramfs bytes")
	}
}

func TestInitramfsMissingFile(t *testing.T) {
	bob, mods := fakeInputs(t)
	mods[0].Path += ".gone"
	var b bytes.Buffer
	if err := writeInitramfs(&b, initramfsEntries(bob, mods)); err == nil {
		t.Error("writeInitramfs succeeded with a missing module file")
	}
}

func TestParseAptShow(t *testing.T) {
	out := []byte(`Package: linux-image-cloud-amd64
Source: linux-signed-amd64 (6.1.192+2)
Version: 6.1.192-2
Installed-Size: 13
Depends: linux-image-6.1.0-56-cloud-amd64 (= 6.1.192-2)
Description: Linux for x86-64 cloud (meta-package)
 This package depends on the latest Linux kernel and modules for use on
 cloud platforms.

Package: linux-image-cloud-amd64
Version: 6.1.176-1
Depends: linux-image-6.1.0-50-cloud-amd64 (= 6.1.176-1)
`)
	p, err := parseAptShow(out)
	if err != nil {
		t.Fatal(err)
	}
	if p.Package != "linux-image-cloud-amd64" || p.Version != "6.1.192-2" {
		t.Errorf("parseAptShow = %+v, want the first stanza", p)
	}
	pkg, ver, ok := imageOf(p)
	if !ok || pkg != "linux-image-6.1.0-56-cloud-amd64" || ver != "6.1.192-2" {
		t.Errorf("imageOf = %q %q %v", pkg, ver, ok)
	}

	// A versioned image package depends on no other image.
	img := aptPackage{Package: "linux-image-6.1.0-56-cloud-amd64", Version: "6.1.192-2",
		Depends: "kmod, linux-base (>= 4.3~), initramfs-tools (>= 0.120+deb8u2) | linux-initramfs-tool"}
	if _, _, ok := imageOf(img); ok {
		t.Error("imageOf found an image dependency in a versioned image package")
	}
	unpinned := aptPackage{Depends: "linux-image-6.1.0-56-cloud-amd64"}
	if pkg, ver, ok := imageOf(unpinned); !ok || pkg != "linux-image-6.1.0-56-cloud-amd64" || ver != "" {
		t.Errorf("imageOf(unpinned) = %q %q %v", pkg, ver, ok)
	}

	if _, err := parseAptShow([]byte("N: Unable to locate package x\n")); err == nil {
		t.Error("parseAptShow accepted output without a package")
	}
}

func TestPackageNamesAreNotOptions(t *testing.T) {
	for _, bad := range []string{"-o", "--print-uris", "", "Linux", "a b", "x;y"} {
		if validPackageName.MatchString(bad) {
			t.Errorf("%q passes as a package name", bad)
		}
	}
}

func TestQemuArgs(t *testing.T) {
	args := qemuArgs(launch{
		Kernel: "k", Initrd: "i", RelayHost: "127.0.0.1", RelayPort: "19009", MetricsPort: "19100",
		Cmdline: kernelCmdline(defaultNet, defaultRelayFlags), Memory: "128", Accel: tcgAccel,
	})
	joined := strings.Join(args, " ")
	for _, want := range []string{
		"-M pc -m 128 -accel tcg -cpu qemu64,+rdrand",
		"-nographic",
		"-netdev user,id=n0,restrict=on,hostfwd=tcp:127.0.0.1:19009-:9009,hostfwd=tcp:127.0.0.1:19100-:9100",
		"-device virtio-net-pci,netdev=n0,romfile=",
		"-append console=ttyS0 panic=-1 quiet bob.ip=dhcp bob.relay=--listen=:9009,--metrics=:9100",
	} {
		if !strings.Contains(joined, want) {
			t.Errorf("qemu command line %q lacks %q", joined, want)
		}
	}
	// The appliance must accept the command line the script passes.
	i := slices.Index(args, "-append")
	cfg, err := appliance.ParseCmdline(args[i+1])
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.DHCP() || !slices.Equal(cfg.RelayArgs, []string{"--listen=:9009", "--metrics=:9100"}) {
		t.Errorf("the guest reads the command line as %+v", cfg)
	}
}

func TestRunScript(t *testing.T) {
	script := runScript()
	for _, want := range []string{"restrict=on", "127.0.0.1:$relay_port-:9009", "-accel kvm -cpu host", "-accel tcg -cpu qemu64,+rdrand"} {
		if !strings.Contains(script, want) {
			t.Errorf("run.sh lacks %q", want)
		}
	}
	p := filepath.Join(t.TempDir(), "run.sh")
	if err := os.WriteFile(p, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("sh", "-n", p).CombinedOutput(); err != nil {
		t.Errorf("run.sh is not valid sh: %v\n%s", err, out)
	}
	// A wrong BOB_ACCEL stops the script before qemu is looked for.
	cmd := exec.Command("sh", p)
	cmd.Env = append(os.Environ(), "BOB_ACCEL=fast")
	out, err := cmd.CombinedOutput()
	if code := cmd.ProcessState.ExitCode(); err == nil || code != 2 || !strings.Contains(string(out), "BOB_ACCEL must be auto, kvm or tcg") {
		t.Errorf("BOB_ACCEL=fast: exit %d, %q", code, out)
	}
}
