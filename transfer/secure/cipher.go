package secure

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"runtime"

	"golang.org/x/crypto/chacha20poly1305"
	"golang.org/x/sys/cpu"
)

// Cipher names, as in the Noise protocol name.
const (
	CipherAESGCM     = "AESGCM"
	CipherChaChaPoly = "ChaChaPoly"
)

// hasHardwareAES reports whether this machine runs AES-GCM in hardware, so
// that it is both fast and constant-time. Elsewhere ChaCha20-Poly1305 wins.
func hasHardwareAES() bool {
	switch runtime.GOARCH {
	case "amd64", "386":
		return cpu.X86.HasAES && cpu.X86.HasPCLMULQDQ
	case "arm64":
		return cpu.ARM64.HasAES && cpu.ARM64.HasPMULL
	case "s390x":
		return cpu.S390X.HasAES && cpu.S390X.HasAESGCM
	case "ppc64le":
		return cpu.PPC64.IsPOWER8
	}
	return false
}

// halfDuplex is the transport state of one direction: an AEAD and its Noise
// nonce counter. We run the transport AEAD ourselves, with the keys Noise
// split out, because flynn/noise allocates a nonce per message; the nonce
// rules are Noise's: n counts messages from 0, the 96-bit nonce is 32 zero
// bits then n as 64 bits, big-endian for AES-GCM and little-endian for
// ChaCha20-Poly1305, the associated data is empty, and n = 2^64-1 is never
// used.
type halfDuplex struct {
	aead         cipher.AEAD
	littleEndian bool
	n            uint64
	nonce        [12]byte
}

var errNonceExhausted = errors.New("secure: too many records on one connection")

func newHalfDuplex(name string, key [32]byte) (*halfDuplex, error) {
	h := &halfDuplex{}
	switch name {
	case CipherAESGCM:
		block, err := aes.NewCipher(key[:])
		if err != nil {
			return nil, fmt.Errorf("secure: %w", err)
		}
		if h.aead, err = cipher.NewGCM(block); err != nil {
			return nil, fmt.Errorf("secure: %w", err)
		}
	case CipherChaChaPoly:
		var err error
		if h.aead, err = chacha20poly1305.New(key[:]); err != nil {
			return nil, fmt.Errorf("secure: %w", err)
		}
		h.littleEndian = true
	default:
		return nil, fmt.Errorf("secure: unknown cipher %q", name)
	}
	return h, nil
}

// next returns the nonce for the next message and advances the counter.
// The returned slice is valid until the next call.
func (h *halfDuplex) next() ([]byte, error) {
	if h.n == math.MaxUint64 {
		return nil, errNonceExhausted
	}
	if h.littleEndian {
		binary.LittleEndian.PutUint64(h.nonce[4:], h.n)
	} else {
		binary.BigEndian.PutUint64(h.nonce[4:], h.n)
	}
	h.n++
	return h.nonce[:], nil
}
