//go:build linux

package main

import (
	"bufio"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"
)

// The encrypted ceiling is the plain ceiling with the least any encrypted
// transfer must add: the source seals the file in AES-256-GCM records read
// straight from a memory map of the file (no copy into the process), and the
// sink opens each record from its read buffer into one reused buffer, as bob
// does. No handshake, no checksum, no compression probe, nothing written to
// disk. bob does all of that and more, so this is as fast as bob could hope
// to be; how far it falls short of the plain ceiling is the price of
// encryption on this machine.

const (
	sealedFrameMax  = 65535               // as bob's records: a u16 length
	sealedPlainMax  = sealedFrameMax - 16 // less an AES-GCM tag
	sealedWireMax   = 2 + sealedFrameMax  // a frame with its length
	sealedBatchMax  = 4 * sealedWireMax   // per write, as bob's 256 KiB write buffer
	sealedReadAhead = 1 << 20             // the sink's read buffer, as bob's
	sealedKeyHexLen = 2 * 32              // AES-256
	sealedNonceSize = 12                  // the counter in its last 8 bytes, as Noise
)

// newSealedKey returns a fresh key for one measurement, in hex for a flag.
func newSealedKey() string {
	k := make([]byte, 32)
	_, _ = rand.Read(k) // never fails (crypto/rand panics instead)
	return hex.EncodeToString(k)
}

func newSealedAEAD(keyHex string) (cipher.AEAD, error) {
	if len(keyHex) != sealedKeyHexLen {
		return nil, fmt.Errorf("-internal-key must be %d hex digits", sealedKeyHexLen)
	}
	key, err := hex.DecodeString(keyHex)
	if err != nil {
		return nil, fmt.Errorf("-internal-key: %w", err)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// runSealedSource sends file to addr as sealed records.
func runSealedSource(ctx context.Context, addr, file, keyHex string) error {
	aead, err := newSealedAEAD(keyHex)
	if err != nil {
		return err
	}
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	size := fi.Size()
	if size <= 0 || int64(int(size)) != size {
		return fmt.Errorf("%s: cannot map %d bytes", file, size)
	}
	data, err := syscall.Mmap(int(f.Fd()), 0, int(size), syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		return fmt.Errorf("mapping %s: %w", file, err)
	}
	defer func() { _ = syscall.Munmap(data) }()
	_ = syscall.Madvise(data, syscall.MADV_SEQUENTIAL) // only a hint

	tc, err := dialTCP(ctx, addr)
	if err != nil {
		return err
	}
	defer tc.Close()
	out := make([]byte, 0, sealedBatchMax)
	var nonce [sealedNonceSize]byte
	var counter uint64
	for off := 0; off < len(data); {
		plain := data[off:min(off+sealedPlainMax, len(data))]
		off += len(plain)
		binary.BigEndian.PutUint64(nonce[4:], counter)
		counter++
		out = binary.BigEndian.AppendUint16(out, uint16(len(plain)+aead.Overhead()))
		out = aead.Seal(out, nonce[:], plain, nil)
		if len(out)+sealedWireMax > cap(out) || off == len(data) {
			if _, err := tc.Write(out); err != nil {
				return err
			}
			out = out[:0]
		}
	}
	return endSend(tc)
}

// runOpenSink accepts one connection, opens every record and discards it.
func runOpenSink(ctx context.Context, expect int64, keyHex string, stdout io.Writer) error {
	aead, err := newSealedAEAD(keyHex)
	if err != nil {
		return err
	}
	c, err := listenOne(ctx, stdout)
	if err != nil {
		return err
	}
	defer c.Close()
	br := bufio.NewReaderSize(c, sealedReadAhead)
	plain := make([]byte, sealedFrameMax)
	var nonce [sealedNonceSize]byte
	var counter uint64
	var n int64
	for {
		hdr, err := br.Peek(2)
		if errors.Is(err, io.EOF) && len(hdr) == 0 {
			break
		}
		if err != nil {
			return fmt.Errorf("after %d bytes: %w", n, err)
		}
		size := int(binary.BigEndian.Uint16(hdr))
		frame, err := br.Peek(2 + size)
		if err != nil {
			return fmt.Errorf("after %d bytes: %w", n, err)
		}
		binary.BigEndian.PutUint64(nonce[4:], counter)
		counter++
		p, err := aead.Open(plain[:0], nonce[:], frame[2:], nil)
		if err != nil {
			return fmt.Errorf("record %d: %w", counter-1, err)
		}
		n += int64(len(p))
		if _, err := br.Discard(2 + size); err != nil {
			return err
		}
	}
	if expect >= 0 && n != expect {
		return fmt.Errorf("received %d bytes, want %d", n, expect)
	}
	fmt.Fprintf(stdout, "received %d\n", n)
	return nil
}
