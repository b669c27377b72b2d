package tui

import (
	"fmt"
	"strings"
	"time"

	"github.com/bob-p2p/bob/internal/safeterm"
	"github.com/bob-p2p/bob/transfer"
	"github.com/charmbracelet/bubbles/progress"
	"github.com/charmbracelet/bubbles/spinner"
	tea "github.com/charmbracelet/bubbletea"
)

// progressScreen shows data moving: a bar over the whole transfer, the
// current file, bytes done of total, smoothed speed, time left and what
// compression saved. A stream of unknown size gets a spinner, not a bar.
type progressScreen struct {
	cfg           *config
	width, height int
	bar           progress.Model
	spin          spinner.Model
	offer         *transfer.OfferReceived
	resumed       int64

	last      transfer.Progress
	started   bool
	meter     speedMeter
	watch     stallWatch
	now       time.Time // by cfg.now, at the last event or tick
	filesDone int
	lastFile  string   // the last file completed, escaped
	skipped   int      // entries the sender left out
	resumes   []string // what became of files an earlier transfer left (escaped resumeLine lines)
}

// maxResumeShown is how many resume outcomes the progress screen lists.
const maxResumeShown = 3

func newProgressScreen(cfg *config, offer *transfer.OfferReceived, resumed int64, width, height int) progressScreen {
	s := progressScreen{
		cfg:     cfg,
		offer:   offer,
		resumed: resumed,
		bar: progress.New(
			progress.WithGradient(colorBarFull, colorBarEnd),
			progress.WithColorProfile(cfg.r.ColorProfile()),
		),
		spin: spinner.New(spinner.WithSpinner(spinner.Dot), spinner.WithStyle(cfg.st.spinner)),
	}
	return s.resize(width, height)
}

func (s progressScreen) resize(width, height int) progressScreen {
	s.width, s.height = width, height
	s.bar.Width = min(contentWidth(width), 60)
	return s
}

func (s progressScreen) Init() tea.Cmd {
	if !s.cfg.animate {
		return nil
	}
	return s.spin.Tick
}

func (s progressScreen) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		return s.resize(msg.Width, msg.Height), nil
	case spinner.TickMsg:
		var cmd tea.Cmd
		s.spin, cmd = s.spin.Update(msg)
		return s, cmd
	case eventMsg:
		switch e := msg.event.(type) {
		case transfer.Progress:
			s.last = e
			s.started = true
			s.now = s.cfg.now()
			s.meter.observe(e.Done-e.Resumed, e.Elapsed)
			s.watch.observe(e.Done, s.now)
		case transfer.FileDone:
			s.filesDone++
			s.lastFile = safeterm.Escape(e.Path)
		}
	}
	return s, nil
}

// at is the screen as of now, for a tick: the speed decays and a stall
// shows even when no event comes.
func (s progressScreen) at(now time.Time) progressScreen {
	s.now = now
	return s
}

func (s progressScreen) heading() string {
	verb := "Sending"
	if s.cfg.opts.Role == Receiving {
		verb = "Receiving"
	}
	if s.offer == nil {
		return verb
	}
	return verb + " " + offerWhat(*s.offer)
}

func (s progressScreen) View() string {
	st := s.cfg.st
	title := "bob · send"
	if s.cfg.opts.Role == Receiving {
		title = "bob · receive"
	}
	p := s.last
	if !s.started && s.offer != nil && !s.offer.IsStream {
		p.Total = s.offer.TotalBytes // known from the offer before any progress
	}
	lines := []string{st.title.Render(title), "", s.heading()}

	unknown := p.Total < 0 || (s.offer != nil && s.offer.IsStream && p.Total <= 0)
	if unknown {
		lines = append(lines, s.spin.View()+size(p.Done)+" so far")
	} else {
		lines = append(lines, s.bar.ViewAs(fraction(p.Done, p.Total)))
	}

	switch {
	case !s.started:
		lines = append(lines, st.dim.Render("starting…"))
	case p.File != "":
		where := ""
		if p.Files > 1 {
			where = fmt.Sprintf("file %d of %d · ", p.FileIndex, p.Files)
		}
		lines = append(lines, st.label.Render(where)+safeterm.Escape(p.File))
	}

	speed := s.meter.decayed(s.watch.quiet(s.now))
	speedAndETA := []string{rate(speed)}
	if left, ok := eta(p.Total-p.Done, speed); ok && s.started && !unknown {
		speedAndETA = append(speedAndETA, formatDuration(left)+" left")
	}
	complete := p.Total > 0 && p.Done >= p.Total
	if d, stalled := s.watch.stalled(s.now); stalled && !complete {
		speedAndETA = []string{st.warn.Render(stalledNote(d))}
	}
	var stats []string
	if !unknown && (s.started || p.Total != 0) { // no "0 B of 0 B" before the first progress
		stats = append(stats, size(p.Done)+" of "+size(p.Total))
	}
	stats = append(stats, speedAndETA...)
	lines = append(lines, strings.Join(stats, " · "))

	var extra []string
	if saving, ok := compressionSaving(p.Done-p.Resumed, p.WireBytes); ok {
		extra = append(extra, fmt.Sprintf("compression saved %.0f%%", saving*100))
	}
	if s.resumed > 0 {
		extra = append(extra, size(s.resumed)+" resumed")
	}
	if len(extra) > 0 {
		lines = append(lines, st.dim.Render(strings.Join(extra, " · ")))
	}
	if s.skipped > 0 {
		lines = append(lines, st.warn.Render(skippedNote(s.skipped)))
	}
	lines = appendList(lines, st, list{dim: true, show: maxResumeShown}, s.resumes)
	lines = append(lines, "", st.helpLine(0, " · ", s.cfg.keys.cancel))
	return strings.Join(lines, "\n")
}
