package relay

import (
	"math/bits"
	"strconv"
)

// plates is the set of nameplates in use. A bitmap over small numbers makes
// finding the lowest free one cheap; the map is the truth, since senders may
// also choose nameplates (large ones, or ones with leading zeros).
type plates struct {
	byName map[string]*waiter
	used   []uint64 // bit k set: nameplate strconv.Itoa(k) is in use
}

func (p *plates) init() {
	p.byName = make(map[string]*waiter)
	p.used = []uint64{1} // there is no nameplate 0
}

func (p *plates) taken(name string) bool {
	_, ok := p.byName[name]
	return ok
}

// lowestFree returns the smallest positive number not in use.
func (p *plates) lowestFree() string {
	for i := 0; ; i++ {
		if i == len(p.used) {
			p.used = append(p.used, 0)
		}
		for p.used[i] != ^uint64(0) {
			bit := bits.TrailingZeros64(^p.used[i])
			name := strconv.Itoa(i*64 + bit)
			if !p.taken(name) {
				return name
			}
			p.used[i] |= 1 << bit // chosen by a sender
		}
	}
}

func (p *plates) take(name string, w *waiter) {
	p.byName[name] = w
	if i, ok := p.index(name); ok {
		p.used[i/64] |= 1 << (i % 64)
	}
}

func (p *plates) free(name string) {
	delete(p.byName, name)
	if i, ok := p.index(name); ok {
		p.used[i/64] &^= 1 << (i % 64)
	}
}

// index returns the bit of name if it is a number in canonical form within
// the bitmap.
func (p *plates) index(name string) (int, bool) {
	n, err := strconv.Atoi(name)
	if err != nil || n <= 0 || n >= len(p.used)*64 || strconv.Itoa(n) != name {
		return 0, false
	}
	return n, true
}
