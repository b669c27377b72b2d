package transfer

// bufPool is a bounded free list of equal-sized buffers. Unlike sync.Pool it
// keeps its buffers across garbage collections, so a steady transfer
// allocates nothing per record, and it never holds more than its capacity.
type bufPool struct {
	free chan *[]byte
	size int
}

func newBufPool(size, keep int) *bufPool {
	return &bufPool{free: make(chan *[]byte, keep), size: size}
}

func (p *bufPool) get() *[]byte {
	select {
	case b := <-p.free:
		return b
	default:
		b := make([]byte, p.size)
		return &b
	}
}

func (p *bufPool) put(b *[]byte) {
	select {
	case p.free <- b:
	default:
	}
}
