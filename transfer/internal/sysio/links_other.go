//go:build !unix

package sysio

import "io/fs"

// LinkCount is 1 where the stat does not say (hard links are rare there and
// os.SameFile still pins the file's identity).
func LinkCount(fs.FileInfo) uint64 { return 1 }
