//go:build unix

package sysio

import (
	"os"
	"testing"
)

func TestReadCheckerBits(t *testing.T) {
	user := ReadChecker{uid: 1000, gid: 1000, groups: []int{1000, 27}}
	root := ReadChecker{uid: 0, gid: 0}
	for _, c := range []struct {
		who      ReadChecker
		perm     os.FileMode
		uid, gid int
		want     bool
	}{
		{user, 0o400, 1000, 5, true},     // owner
		{user, 0o044, 1000, 1000, false}, // owner bits alone count for the owner
		{user, 0o040, 0, 27, true},       // a supplementary group
		{user, 0o404, 0, 27, false},      // group bits alone count for a member
		{user, 0o004, 0, 0, true},        // other
		{user, 0o440, 0, 0, false},
		{root, 0o000, 1000, 1000, true},
	} {
		if got := c.who.bitsAllow(c.perm, c.uid, c.gid); got != c.want {
			t.Errorf("uid %d, %v owned by %d:%d: %v, want %v", c.who.uid, c.perm, c.uid, c.gid, got, c.want)
		}
	}
}
