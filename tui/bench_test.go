package tui

import (
	"io"
	"testing"
	"time"

	"github.com/bob-p2p/bob/transfer"
	"github.com/charmbracelet/lipgloss"
)

// The transfer calls Event for progress up to ten times a second; these
// keep an eye on what one call costs in each mode.

func BenchmarkJSONProgress(b *testing.B) {
	v := newJSON(io.Discard, Options{}, time.Now)
	p := transfer.Progress{Total: 1 << 30, File: "holiday/photo-01.jpg", FileIndex: 1, Files: 3}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		p.Done, p.Elapsed = int64(i)<<10, time.Duration(i)*time.Millisecond
		v.Event(p)
	}
}

func BenchmarkProgressView(b *testing.B) {
	cfg := newConfig(Options{Role: Sending}, lipgloss.NewRenderer(io.Discard), false)
	o := sampleOffer(3)
	m := newModel(cfg)
	m.width, m.height = 80, 24
	next, _ := m.Update(eventMsg{transfer.OfferSent(o)})
	next, _ = next.Update(eventMsg{transfer.Accepted{}})
	p := transfer.Progress{Total: o.TotalBytes, File: "holiday/photo-01.jpg", FileIndex: 1, Files: 3}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		p.Done, p.Elapsed = int64(i)%o.TotalBytes, time.Duration(i)*time.Millisecond
		next, _ = next.Update(eventMsg{p})
		_ = next.View()
	}
}
