//go:build !unix

package transfer

import "io/fs"

// linkCount is 1 where the stat does not say (hard links are rare there and
// os.SameFile still pins the file's identity).
func linkCount(fs.FileInfo) uint64 { return 1 }
