package transfer

import (
	"context"
	"io"

	"github.com/zeebo/blake3"
)

// Resume compares a prefix the receiver holds with the sender's without
// anything computed from the receiver's bytes leaving its machine unless
// they matched (issue 18, item 6; PROTOCOL.md, Resume). Both sides hash
// the prefix with BLAKE3 keyed by the sender's resume key (new random
// bytes for every transfer, sent in PREFIX) and read 96 bytes of output:
// the first 32 are the sender's answer, which the receiver compares with
// its own; bytes 64 to 96 (another output block) are the receiver's proof
// that it holds the bytes, sent only when the answer matched. Knowing the
// answer does not give the proof, and the key is new for every transfer,
// so a proof can neither be computed without the bytes nor be carried over
// from another transfer.
type prefixHash struct {
	answer, proof [hashSize]byte
}

// hashPrefix reads up to n bytes of r (also into extra, if not nil) and
// returns their prefix hash under key and how many bytes there were. It
// stops when ctx ends. Memory stays flat: buf is the only buffer.
func hashPrefix(ctx context.Context, key *[hashSize]byte, r io.Reader, n int64, extra io.Writer, buf []byte) (prefixHash, int64, error) {
	h, err := blake3.NewKeyed(key[:])
	if err != nil {
		return prefixHash{}, 0, err // only for a key of the wrong size
	}
	var w io.Writer = h
	if extra != nil {
		w = io.MultiWriter(h, extra)
	}
	got, err := io.CopyBuffer(w, ctxReader{ctx, io.LimitReader(r, n)}, buf)
	if err != nil {
		return prefixHash{}, got, err
	}
	var out [3 * hashSize]byte
	if _, err := h.Digest().Read(out[:]); err != nil {
		return prefixHash{}, got, err
	}
	var ph prefixHash
	copy(ph.answer[:], out[:hashSize])
	copy(ph.proof[:], out[2*hashSize:])
	return ph, got, nil
}

// ctxReader ends a long read (a large prefix) when ctx ends.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
