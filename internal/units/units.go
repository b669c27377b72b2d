// Package units formats byte counts and speeds for people. Every size and
// speed bob shows, in the views and in error messages, goes through here so
// that there is one unit system: SI (powers of 1000, "21 MB"), never binary
// units ("20 MiB").
package units

import (
	"math"

	"github.com/dustin/go-humanize"
)

// Size is a byte count for people: "12 MB"; "unknown size" when negative.
func Size(n int64) string {
	if n < 0 {
		return "unknown size"
	}
	return humanize.Bytes(uint64(n))
}

// Rate is a speed for people: "2.1 MB/s"; "– B/s" when there is none.
func Rate(bytesPerSecond float64) string {
	if bytesPerSecond <= 0 || math.IsNaN(bytesPerSecond) || math.IsInf(bytesPerSecond, 0) {
		return "– B/s"
	}
	return humanize.Bytes(uint64(bytesPerSecond)) + "/s"
}
