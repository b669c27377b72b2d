package main

import (
	"bufio"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"path"
	"slices"

	"github.com/cavaliergopher/cpio"

	"github.com/bob-p2p/bob/relay/appliance"
)

// entry is one file of the initramfs.
type entry struct {
	name  string // path inside the archive, without a leading slash
	mode  cpio.FileMode
	src   string // host file with the contents of a regular file
	major int    // device numbers of a character device
	minor int
}

// initramfsEntries lists the archive's contents: the directories bob mounts
// on, the console the kernel opens for /init before anything is mounted,
// the kernel modules, and bob itself as /init.
func initramfsEntries(bob string, mods []appliance.Module) []entry {
	es := []entry{
		{name: "dev", mode: cpio.TypeDir | 0o755},
		{name: "dev/console", mode: cpio.TypeChar | 0o600, major: 5, minor: 1},
		{name: "init", mode: cpio.TypeReg | 0o755, src: bob},
		{name: "lib", mode: cpio.TypeDir | 0o755},
		{name: "lib/modules", mode: cpio.TypeDir | 0o755},
		{name: "proc", mode: cpio.TypeDir | 0o555},
		{name: "sys", mode: cpio.TypeDir | 0o555},
	}
	for _, m := range mods {
		es = append(es, entry{
			name: path.Join("lib/modules", m.Name+".ko"),
			mode: cpio.TypeReg | 0o644,
			src:  m.Path,
		})
	}
	// Sorted names put every directory before what it holds and make the
	// order independent of how the list was made.
	slices.SortFunc(es, func(a, b entry) int {
		switch {
		case a.name < b.name:
			return -1
		case a.name > b.name:
			return 1
		}
		return 0
	})
	return es
}

// writeInitramfs writes a gzip-compressed newc cpio archive of es to w.
// Owners, times and inode numbers are fixed, so the same files give the
// same bytes.
func writeInitramfs(w io.Writer, es []entry) error {
	bw := bufio.NewWriterSize(w, 1<<20)
	zw, err := gzip.NewWriterLevel(bw, gzip.BestCompression)
	if err != nil {
		return err
	}
	// gzip's header has no name and a zero time unless set.
	cw := cpio.NewWriter(zw)
	for i, e := range es {
		ino := int64(i + 1)
		if e.mode&^cpio.ModePerm == cpio.TypeChar {
			// cpio v1.0.1 does not write device numbers, so a device
			// node's header is written here, between the library's entries.
			if err := cw.Flush(); err != nil {
				return err
			}
			if err := writeDeviceHeader(zw, e, ino); err != nil {
				return err
			}
			continue
		}
		if err := writeEntry(cw, e, ino); err != nil {
			return fmt.Errorf("adding %s to the initramfs: %w", e.name, err)
		}
	}
	if err := cw.Close(); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return err
	}
	return bw.Flush()
}

func writeEntry(cw *cpio.Writer, e entry, ino int64) error {
	hdr := &cpio.Header{Name: e.name, Mode: e.mode, Links: 1, Inode: ino}
	if e.mode.IsDir() {
		hdr.Links = 2
		return cw.WriteHeader(hdr)
	}
	f, err := os.Open(e.src)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%s is not a regular file", e.src)
	}
	hdr.Size = fi.Size()
	if err := cw.WriteHeader(hdr); err != nil {
		return err
	}
	n, err := io.Copy(cw, f)
	if err != nil {
		return err
	}
	if n != hdr.Size {
		return fmt.Errorf("%s changed size while being archived", e.src)
	}
	return nil
}

// writeDeviceHeader writes the newc header of a device node with no data.
// Fields are 8 hex digits: magic, ino, mode, uid, gid, nlink, mtime,
// filesize, devmajor, devminor, rdevmajor, rdevminor, namesize, check.
func writeDeviceHeader(w io.Writer, e entry, ino int64) error {
	name := e.name + "\x00"
	hdr := fmt.Sprintf("070701%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x",
		ino, uint32(e.mode), 0, 0, 1, 0, 0, 0, 0, e.major, e.minor, len(name), 0)
	pad := (4 - (len(hdr)+len(name))%4) % 4
	_, err := io.WriteString(w, hdr+name+"\x00\x00\x00"[:pad])
	return err
}
