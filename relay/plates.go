package relay

import (
	"math/bits"
	"strconv"
	"time"
)

// plates is the set of nameplates in use. A bitmap over small numbers makes
// finding the lowest free one cheap; the map is the truth, since senders may
// also choose nameplates (large ones, or ones with leading zeros).
type plates struct {
	byName map[string]*waiter
	// voided holds nameplates whose pair has ended, until when no one may
	// open them again. A code's one guess is then one guess in all: a peer
	// that failed the handshake cannot reopen the nameplate as a fake
	// sender for the real receiver.
	voided map[string]time.Time
	used   []uint64 // bit k set: nameplate strconv.Itoa(k) is in use or voided
}

func (p *plates) init() {
	p.byName = make(map[string]*waiter)
	p.voided = make(map[string]time.Time)
	p.used = []uint64{1} // there is no nameplate 0
}

// taken reports whether name is open or still voided at now.
func (p *plates) taken(name string, now time.Time) bool {
	if _, ok := p.byName[name]; ok {
		return true
	}
	if until, ok := p.voided[name]; ok {
		if now.Before(until) {
			return true
		}
		p.free(name)
	}
	return false
}

// void closes name and keeps it unusable until until.
func (p *plates) void(name string, until time.Time) {
	delete(p.byName, name)
	p.voided[name] = until
}

// sweep frees the voided nameplates whose time is over.
func (p *plates) sweep(now time.Time) {
	for name, until := range p.voided {
		if !now.Before(until) {
			p.free(name)
		}
	}
}

// lowestFree returns the smallest positive number not in use. Voided
// numbers keep their bit until sweep or taken frees them.
func (p *plates) lowestFree(now time.Time) string {
	for i := 0; ; i++ {
		if i == len(p.used) {
			p.used = append(p.used, 0)
		}
		for p.used[i] != ^uint64(0) {
			bit := bits.TrailingZeros64(^p.used[i])
			name := strconv.Itoa(i*64 + bit)
			if !p.taken(name, now) {
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
	delete(p.voided, name)
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
