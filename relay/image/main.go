// Command image builds the bob relay appliance VM image: a Debian cloud
// kernel and an initramfs whose only program is bob, running as PID 1 and
// serving as a relay (see relay/appliance and docs/appliance.md).
//
//	go run ./relay/image -out build/relay-image
//
// The output directory gets vmlinuz, initramfs, run.sh (a qemu launch
// script), and SHA256SUMS. The same sources, kernel package and Go
// toolchain give the same bytes.
package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"

	"github.com/bob-p2p/bob/relay/appliance"
)

// options are the builder's inputs.
type options struct {
	Out           string   // output directory
	Cache         string   // where downloaded kernels are kept
	KernelPackage string   // Debian kernel (meta-)package
	Modules       []string // modules to load at boot, before their dependencies
	Source        string   // the bob module's root directory
}

// DefaultKernelPackage is Debian's cloud kernel: small, LZ4-compressed, and
// quick to boot under emulation.
const DefaultKernelPackage = "linux-image-cloud-amd64"

// defaultModules are the virtio network driver and the PCI transport it
// sits on, and the ACPI power button with the input event interface that
// reports it; their dependencies are added from .modinfo.
var defaultModules = []string{"virtio_net", "virtio_pci", "button", "evdev"}

// result describes a built image.
type result struct {
	Dir       string
	Kernel    kernelTree
	Modules   []appliance.Module
	Files     []string // output file names
	Checksums map[string]string
}

func main() {
	o := options{}
	flag.StringVar(&o.Out, "out", "build/relay-image", "output `dir`ectory")
	flag.StringVar(&o.Cache, "cache", defaultCache(), "`dir`ectory that keeps downloaded kernels between builds")
	flag.StringVar(&o.KernelPackage, "kernel", DefaultKernelPackage, "Debian kernel `package` (a meta-package resolves to the current version)")
	modules := flag.String("modules", strings.Join(defaultModules, ","), "kernel `modules` to load at boot, comma-separated (dependencies are added)")
	flag.Parse()
	if flag.NArg() > 0 {
		fmt.Fprintln(os.Stderr, "image: unexpected arguments:", strings.Join(flag.Args(), " "))
		os.Exit(2)
	}
	o.Modules = strings.Split(*modules, ",")

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	r, err := build(ctx, o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "image:", err)
		os.Exit(1)
	}
	fmt.Printf("kernel %s %s with modules", r.Kernel.Package, r.Kernel.Version)
	for _, m := range r.Modules {
		fmt.Print(" ", m.Name)
	}
	fmt.Println()
	for _, f := range r.Files {
		fi, err := os.Stat(filepath.Join(r.Dir, f))
		if err != nil {
			continue
		}
		fmt.Printf("%-10s %9d bytes  sha256 %s\n", f, fi.Size(), r.Checksums[f])
	}
	fmt.Printf("boot it: %s\n", filepath.Join(r.Dir, "run.sh"))
}

func defaultCache() string {
	dir, err := os.UserCacheDir()
	if err != nil {
		return filepath.Join("build", "cache")
	}
	return filepath.Join(dir, "bob", "relay-image")
}

// build makes the image in o.Out.
func build(ctx context.Context, o options) (result, error) {
	if o.Out == "" {
		return result{}, errors.New("no output directory given")
	}
	if o.KernelPackage == "" {
		o.KernelPackage = DefaultKernelPackage
	}
	if len(o.Modules) == 0 {
		o.Modules = defaultModules
	}
	if o.Source == "" {
		src, err := moduleRoot(ctx)
		if err != nil {
			return result{}, err
		}
		o.Source = src
	}
	out, err := filepath.Abs(o.Out)
	if err != nil {
		return result{}, err
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return result{}, err
	}

	k, err := kernel(ctx, o)
	if err != nil {
		return result{}, err
	}
	find, err := k.moduleFinder()
	if err != nil {
		return result{}, err
	}
	mods, err := appliance.Closure(o.Modules, find)
	if err != nil {
		return result{}, err
	}

	work, err := os.MkdirTemp(out, ".build-")
	if err != nil {
		return result{}, err
	}
	defer os.RemoveAll(work)
	bob := filepath.Join(work, "bob")
	if err := buildBob(ctx, o.Source, bob); err != nil {
		return result{}, err
	}

	// Each output is written next to its final name and renamed over it,
	// so a failed build never leaves a half-written file under that name.
	r := result{Dir: out, Kernel: k, Modules: mods, Checksums: map[string]string{}}
	write := func(name string, mode os.FileMode, fill func(io.Writer) error) error {
		f, err := os.CreateTemp(out, "."+name+"-")
		if err != nil {
			return err
		}
		defer os.Remove(f.Name())
		h := sha256.New()
		if err := fill(io.MultiWriter(f, h)); err != nil {
			f.Close()
			return fmt.Errorf("writing %s: %w", name, err)
		}
		if err := f.Chmod(mode); err != nil {
			f.Close()
			return err
		}
		if err := f.Close(); err != nil {
			return err
		}
		if err := os.Rename(f.Name(), filepath.Join(out, name)); err != nil {
			return err
		}
		r.Files = append(r.Files, name)
		r.Checksums[name] = hex.EncodeToString(h.Sum(nil))
		return nil
	}
	err = write("vmlinuz", 0o644, func(w io.Writer) error {
		f, err := os.Open(k.Vmlinuz())
		if err != nil {
			return err
		}
		defer f.Close()
		_, err = io.Copy(w, f)
		return err
	})
	if err != nil {
		return result{}, err
	}
	err = write("initramfs", 0o644, func(w io.Writer) error {
		return writeInitramfs(w, initramfsEntries(bob, mods))
	})
	if err != nil {
		return result{}, err
	}
	err = write("run.sh", 0o755, func(w io.Writer) error {
		_, err := io.WriteString(w, runScript())
		return err
	})
	if err != nil {
		return result{}, err
	}
	var sums strings.Builder
	for _, f := range r.Files {
		fmt.Fprintf(&sums, "%s  %s\n", r.Checksums[f], f)
	}
	err = write("SHA256SUMS", 0o644, func(w io.Writer) error {
		_, err := io.WriteString(w, sums.String())
		return err
	})
	if err != nil {
		return result{}, err
	}
	return r, nil
}

// kernel resolves and fetches the kernel package. Debian's mirrors keep
// only the newest kernel, so a download that fails after a security update
// is retried once with fresh package lists (when run as root, as apt-get
// update must be).
func kernel(ctx context.Context, o options) (kernelTree, error) {
	if !validPackageName.MatchString(o.KernelPackage) {
		return kernelTree{}, fmt.Errorf("%q is not a Debian package name", o.KernelPackage)
	}
	pkg, version, err := resolveKernel(ctx, o.KernelPackage)
	if err == nil {
		var k kernelTree
		if k, err = fetchKernel(ctx, o.Cache, pkg, version); err == nil {
			return k, nil
		}
	}
	if os.Geteuid() != 0 {
		return kernelTree{}, err
	}
	fmt.Fprintf(os.Stderr, "image: %v; updating apt's package lists and trying again\n", err)
	if _, uerr := command(ctx, "", "apt-get", "update", "-qq"); uerr != nil {
		return kernelTree{}, fmt.Errorf("%w (and apt-get update failed: %v)", err, uerr)
	}
	if pkg, version, err = resolveKernel(ctx, o.KernelPackage); err != nil {
		return kernelTree{}, err
	}
	return fetchKernel(ctx, o.Cache, pkg, version)
}

// moduleRoot is the directory of the go.mod of the bob source tree.
func moduleRoot(ctx context.Context) (string, error) {
	out, err := command(ctx, "", goTool(), "env", "GOMOD")
	if err != nil {
		return "", err
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", errors.New("run the image builder inside the bob source tree")
	}
	return filepath.Dir(gomod), nil
}

// buildBob builds a static, stripped, reproducible bob for the guest.
func buildBob(ctx context.Context, src, out string) error {
	cmd := exec.CommandContext(ctx, goTool(), "build",
		"-trimpath", "-buildvcs=false", "-ldflags=-s -w -buildid=",
		"-o", out, "./cmd/bob")
	cmd.Dir = src
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64")
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("building bob: %w\n%s", err, b)
	}
	return nil
}

// goTool is the go command of the toolchain running the builder if it can
// be found, else the one on PATH.
func goTool() string {
	if root := os.Getenv("GOROOT"); root != "" {
		p := filepath.Join(root, "bin", "go")
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return "go"
}
