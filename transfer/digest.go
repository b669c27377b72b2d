package transfer

import (
	"encoding/binary"

	"github.com/zeebo/blake3"
)

// digest accumulates the summary of END and RECEIPT.
type digest struct {
	h     *blake3.Hasher
	files int64
	bytes int64
}

func newDigest() *digest { return &digest{h: blake3.New()} }

func (d *digest) add(e fileEnd) {
	d.files++
	d.bytes += e.Size
	var b [2 * binary.MaxVarintLen64]byte
	n := binary.PutUvarint(b[:], uint64(e.Index))
	n += binary.PutUvarint(b[n:], uint64(e.Size))
	d.h.Write(b[:n])
	d.h.Write(e.Sum[:])
}

func (d *digest) summary() summary {
	s := summary{Files: d.files, Bytes: d.bytes}
	d.h.Sum(s.Digest[:0])
	return s
}
