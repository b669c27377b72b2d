package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/bob-p2p/bob/relay/appliance"
)

// kernelTree is an extracted Debian kernel image package.
type kernelTree struct {
	Package string // e.g. linux-image-6.1.0-56-cloud-amd64
	Version string // the package version, e.g. 6.1.192-2
	Release string // the kernel release, e.g. 6.1.0-56-cloud-amd64
	Dir     string // where the package is extracted
}

// Vmlinuz is the path of the kernel image.
func (k kernelTree) Vmlinuz() string {
	return filepath.Join(k.Dir, "boot", "vmlinuz-"+k.Release)
}

// ModulesDir is the root of the kernel's module tree.
func (k kernelTree) ModulesDir() string {
	return filepath.Join(k.Dir, "lib", "modules", k.Release)
}

// aptPackage is what `apt-cache show` says of one package version.
type aptPackage struct {
	Package string
	Version string
	Depends string
}

// parseAptShow reads the first stanza of `apt-cache show` output.
func parseAptShow(out []byte) (aptPackage, error) {
	var p aptPackage
	s := bufio.NewScanner(bytes.NewReader(out))
	s.Buffer(nil, 1<<20)
	for s.Scan() {
		line := s.Text()
		if line == "" {
			if p.Package != "" {
				break
			}
			continue
		}
		key, value, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		value = strings.TrimSpace(value)
		switch key {
		case "Package":
			p.Package = value
		case "Version":
			p.Version = value
		case "Depends":
			p.Depends = value
		}
	}
	if err := s.Err(); err != nil {
		return p, err
	}
	if p.Package == "" || p.Version == "" {
		return p, errors.New("apt-cache printed no package stanza")
	}
	return p, nil
}

var imageDependency = regexp.MustCompile(`^(linux-image-[0-9][A-Za-z0-9.+-]*)(?:\s*\(=\s*([^)\s]+)\))?$`)

// imageOf returns the versioned kernel image package a meta-package such as
// linux-image-cloud-amd64 depends on, with the exact version if it is
// pinned. ok is false if p depends on no such package.
func imageOf(p aptPackage) (pkg, version string, ok bool) {
	for dep := range strings.SplitSeq(p.Depends, ",") {
		// An alternative (a | b) is never a kernel image; take the first.
		dep, _, _ = strings.Cut(dep, "|")
		m := imageDependency.FindStringSubmatch(strings.TrimSpace(dep))
		if m != nil {
			return m[1], m[2], true
		}
	}
	return "", "", false
}

// validPackageName follows Debian policy for package names, so that a name
// from the command line or from apt-cache is never taken as an option.
var validPackageName = regexp.MustCompile(`^[a-z0-9][a-z0-9.+-]+$`)

// validVersion follows Debian policy for version strings.
var validVersion = regexp.MustCompile(`^[0-9A-Za-z.+~:-]+$`)

func aptShow(ctx context.Context, pkg string) (aptPackage, error) {
	if !validPackageName.MatchString(pkg) {
		return aptPackage{}, fmt.Errorf("%q is not a Debian package name", pkg)
	}
	out, err := command(ctx, "", "apt-cache", "show", "--no-all-versions", pkg)
	if err != nil {
		return aptPackage{}, fmt.Errorf("looking up %s (run apt-get update first if apt knows no packages): %w", pkg, err)
	}
	return parseAptShow(out)
}

// resolveKernel turns a kernel meta-package into the image package and
// version apt would install now. A versioned image package resolves to itself.
func resolveKernel(ctx context.Context, name string) (pkg, version string, err error) {
	p, err := aptShow(ctx, name)
	if err != nil {
		return "", "", err
	}
	pkg, version, ok := imageOf(p)
	if !ok {
		return p.Package, p.Version, nil
	}
	if version == "" {
		img, err := aptShow(ctx, pkg)
		if err != nil {
			return "", "", err
		}
		version = img.Version
	}
	if !validPackageName.MatchString(pkg) || !validVersion.MatchString(version) {
		return "", "", fmt.Errorf("apt-cache named an odd kernel package %q version %q", pkg, version)
	}
	return pkg, version, nil
}

// fetchKernel returns the extracted kernel package, downloading it with
// apt-get and extracting it with dpkg-deb into cacheDir the first time. The
// cache entry appears by one rename, so an interrupted fetch leaves none.
func fetchKernel(ctx context.Context, cacheDir, pkg, version string) (kernelTree, error) {
	release := strings.TrimPrefix(pkg, "linux-image-")
	dir := filepath.Join(cacheDir, pkg+"_"+strings.ReplaceAll(version, ":", "%3a"))
	k := kernelTree{Package: pkg, Version: version, Release: release, Dir: dir}
	if _, err := os.Stat(k.Vmlinuz()); err == nil {
		return k, nil
	}
	if err := os.MkdirAll(cacheDir, 0o755); err != nil {
		return k, err
	}
	tmp, err := os.MkdirTemp(cacheDir, ".fetch-")
	if err != nil {
		return k, err
	}
	defer os.RemoveAll(tmp)
	if _, err := command(ctx, tmp, "apt-get", "download", "-q", "-o", "APT::Sandbox::User=root", pkg+"="+version); err != nil {
		return k, fmt.Errorf("downloading %s %s (run apt-get update if the version is gone): %w", pkg, version, err)
	}
	debs, _ := filepath.Glob(filepath.Join(tmp, "*.deb"))
	if len(debs) != 1 {
		return k, fmt.Errorf("apt-get download left %d .deb files, want 1", len(debs))
	}
	root := filepath.Join(tmp, "root")
	if _, err := command(ctx, "", "dpkg-deb", "-x", debs[0], root); err != nil {
		return k, fmt.Errorf("extracting %s: %w", filepath.Base(debs[0]), err)
	}
	extracted := kernelTree{Release: release, Dir: root}
	if _, err := os.Stat(extracted.Vmlinuz()); err != nil {
		return k, fmt.Errorf("package %s has no kernel image: %w", pkg, err)
	}
	if err := os.Rename(root, dir); err != nil {
		// Another build may have won the race to fill the cache.
		if _, serr := os.Stat(k.Vmlinuz()); serr != nil {
			return k, err
		}
	}
	return k, nil
}

// findModule finds a module of the kernel tree by name: module file names
// use dashes or underscores interchangeably.
func (k kernelTree) moduleFinder() (func(name string) (appliance.Module, error), error) {
	paths := map[string]string{}
	err := filepath.WalkDir(k.ModulesDir(), func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && strings.HasSuffix(path, ".ko") {
			paths[appliance.ModuleName(path)] = path
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("listing kernel modules: %w", err)
	}
	return func(name string) (appliance.Module, error) {
		p, ok := paths[name]
		if !ok {
			return appliance.Module{}, fmt.Errorf("kernel %s has no module %s (built in, or not in this kernel)", k.Release, name)
		}
		f, err := os.Open(p)
		if err != nil {
			return appliance.Module{}, err
		}
		defer f.Close()
		return appliance.ReadModule(f, p)
	}, nil
}

// command runs a program and returns its standard output; its error
// carries the program's standard error.
func command(ctx context.Context, dir, name string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		msg := strings.TrimSpace(stderr.String())
		if msg != "" {
			return out, fmt.Errorf("%s: %w: %s", name, err, msg)
		}
		return out, fmt.Errorf("%s: %w", name, err)
	}
	return out, nil
}
