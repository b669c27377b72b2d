package transfer

import (
	"encoding/hex"
	"testing"
)

// The expected values are from the reference implementation:
// printf … | xxhsum -H2 (xxHash 0.8).
func TestChecksumVectors(t *testing.T) {
	for _, v := range []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "99aa06d3014798d86001c324468d497f"},
		{"bob", []byte("bob"), "015e9a65c58149761403c0c40f49b8e5"},
		{"100000 zero bytes", make([]byte, 100000), "e1f876364c6fec62315c72a64b7df4d2"},
	} {
		got := checksum(v.data)
		if hex.EncodeToString(got[:]) != v.want {
			t.Errorf("checksum(%s) = %x, want %s", v.name, got, v.want)
		}
		// Written in uneven pieces, as files arrive, it must agree.
		fs := newFileSum()
		for rest := v.data; len(rest) > 0; {
			n := min(len(rest), 7777)
			fs.Write(rest[:n])
			rest = rest[n:]
		}
		if got := fs.sum(); hex.EncodeToString(got[:]) != v.want {
			t.Errorf("fileSum(%s) = %x, want %s", v.name, got, v.want)
		}
	}
}
