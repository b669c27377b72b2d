package relay

import (
	"testing"
	"time"
)

func TestVoidedNameplateExpires(t *testing.T) {
	var p plates
	p.init()
	t0 := time.Unix(1_000_000, 0)
	for _, name := range []string{p.lowestFree(t0), "0042"} {
		p.take(name, &waiter{})
		p.void(name, t0.Add(time.Minute))
		if !p.taken(name, t0.Add(time.Minute-time.Nanosecond)) {
			t.Errorf("voided nameplate %q free before its time", name)
		}
	}
	if got := p.lowestFree(t0); got != "2" {
		t.Errorf("lowest free with 1 voided = %q, want 2", got)
	}
	p.sweep(t0.Add(time.Minute))
	if len(p.voided) != 0 {
		t.Errorf("after the sweep %d nameplates stay voided", len(p.voided))
	}
	for _, name := range []string{"1", "0042"} {
		if p.taken(name, t0.Add(time.Minute)) {
			t.Errorf("nameplate %q still taken after its void ended", name)
		}
	}
	if got := p.lowestFree(t0.Add(time.Minute)); got != "1" {
		t.Errorf("lowest free after the void = %q, want 1", got)
	}
}
