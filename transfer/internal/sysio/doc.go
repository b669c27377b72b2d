// Package sysio is what package transfer asks of the operating system:
// free space and running out of it, link counts, holes in sparse files,
// read permission judged from a stat, and on Linux the disk I/O paths
// (direct I/O, vectored writes, write-back hints, raw reads of a source).
// Each job has a file per platform with a fallback for the others, so
// transfer itself needs no build tags.
package sysio
