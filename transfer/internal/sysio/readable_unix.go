//go:build unix

package sysio

import (
	"io/fs"
	"os"
	"slices"
	"syscall"
)

// ReadChecker tells whether this process may read a file, from the stat
// the walk already made: a send of many small files should not pay a
// system call per file to find the rare one it may not read.
type ReadChecker struct {
	uid, gid int
	groups   []int
}

func NewReadChecker() ReadChecker {
	groups, _ := os.Getgroups() // none known: only the owner and other bits count
	return ReadChecker{uid: os.Geteuid(), gid: os.Getegid(), groups: groups}
}

// mayRead reports whether the permission bits let this process read the
// file. When they seem not to (an access control list may still allow
// it), or the stat is not a Unix one, opening the file decides.
func (c ReadChecker) MayRead(path string, info fs.FileInfo) error {
	st, ok := info.Sys().(*syscall.Stat_t)
	if !ok || !c.bitsAllow(info.Mode().Perm(), int(st.Uid), int(st.Gid)) {
		return CheckReadable(path)
	}
	return nil
}

func (c ReadChecker) bitsAllow(perm fs.FileMode, uid, gid int) bool {
	switch {
	case c.uid == 0:
		return true // root reads any file
	case c.uid == uid:
		return perm&0o400 != 0
	case c.gid == gid || slices.Contains(c.groups, gid):
		return perm&0o040 != 0
	default:
		return perm&0o004 != 0
	}
}
