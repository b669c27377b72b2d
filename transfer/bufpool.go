package transfer

import "sync"

// bufPool is a bounded free list of equal-sized buffers. Unlike sync.Pool it
// keeps its buffers across garbage collections, so a steady transfer
// allocates nothing per record, and it never holds more than its capacity.
// It is a stack: the buffer handed out is the one freed last, still in the
// CPU's cache, where a queue would cycle through every buffer and make
// each record's decryption or hashing start with cache misses.
type bufPool struct {
	mu    sync.Mutex
	free  []*[]byte
	keep  int
	size  int
	align int // address alignment of new buffers; 0 for any
}

func newBufPool(size, keep int) *bufPool {
	return &bufPool{free: make([]*[]byte, 0, keep), keep: keep, size: size}
}

// newAlignedBufPool is newBufPool for buffers whose addresses are
// multiples of align.
func newAlignedBufPool(size, keep, align int) *bufPool {
	p := newBufPool(size, keep)
	p.align = align
	return p
}

func (p *bufPool) get() *[]byte {
	p.mu.Lock()
	if n := len(p.free); n > 0 {
		b := p.free[n-1]
		p.free[n-1] = nil
		p.free = p.free[:n-1]
		p.mu.Unlock()
		return b
	}
	p.mu.Unlock()
	var b []byte
	if p.align > 1 {
		b = alignedBuffer(p.size, p.align)
	} else {
		b = make([]byte, p.size)
	}
	return &b
}

func (p *bufPool) put(b *[]byte) {
	p.mu.Lock()
	if len(p.free) < p.keep {
		p.free = append(p.free, b)
	}
	p.mu.Unlock()
}
