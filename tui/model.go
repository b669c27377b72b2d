package tui

import (
	"context"
	"strings"
	"time"

	"github.com/bob-p2p/bob/transfer"
	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
)

// Messages the view sends into the program. Events from the transfer arrive
// as eventMsg; the rest come from Accept and Close.
type (
	eventMsg struct{ event transfer.Event }

	// offerMsg asks the person about an offer; the answer goes to reply,
	// which has room for one value so the model never blocks.
	offerMsg struct {
		offer transfer.OfferReceived
		clash bool // ask about files that exist (transfer.ClashChoice)
		reply chan acceptReply
	}
	// dismissOfferMsg withdraws the prompt of reply (Accept's ctx ended).
	dismissOfferMsg struct{ reply chan acceptReply }
	// decisionMsg is the offer screen's answer.
	decisionMsg struct {
		accept bool
		choice transfer.ClashChoice // when asked about files that exist
	}
	// closeMsg ends the program with a summary or an error.
	closeMsg struct{ err error }
	// interruptMsg is SIGINT or SIGTERM, treated like Ctrl-C.
	interruptMsg struct{}
	// tickMsg comes every second, so that a view with no events still
	// shows time passing (a stalled transfer).
	tickMsg struct{}
)

type acceptReply struct {
	ok     bool
	choice transfer.ClashChoice
	err    error
}

// config is what every screen shares. It does not change once built.
type config struct {
	opts    Options
	st      styles
	keys    keyMap
	r       *lipgloss.Renderer
	animate bool             // spinners tick; off in golden tests so frames are fixed
	now     func() time.Time // the clock; tests move their own
	stop    <-chan struct{}  // closed when the program has ended; ends a pending tick
}

func newConfig(opts Options, r *lipgloss.Renderer, animate bool) *config {
	return &config{opts: opts, st: newStyles(r), keys: newKeyMap(), r: r, animate: animate, now: time.Now}
}

// tick sends a tickMsg in a second, or nothing if the program ends first.
func (c *config) tick() tea.Cmd {
	stop := c.stop
	return func() tea.Msg {
		t := time.NewTimer(time.Second)
		defer t.Stop()
		select {
		case <-t.C:
			return tickMsg{}
		case <-stop:
			return nil
		}
	}
}

// contentWidth is the width screens lay out for: the window less the
// margins, and not so wide that lines become hard to read.
func contentWidth(width int) int {
	if width <= 0 {
		width = 80
	}
	w := min(width, 100) - 4
	return max(w, 20)
}

// model routes between the screens: waiting (code, connection steps),
// offer prompt, progress and summary. It owns the transfer facts the
// screens show and the Ctrl-C handling common to all of them.
type model struct {
	cfg           *config
	width, height int
	screen        tea.Model

	wait     waitScreen // kept while other screens show, to return to
	offer    *transfer.OfferReceived
	texts    []string
	skipped  []string // escaped "path (reason)" lines, sender
	changed  []string // escaped changedEntry lines, sender
	resumes  []string // escaped resumeLine lines, receiver
	done     *transfer.Done
	progress *progressScreen

	reply      chan acceptReply // pending Accept, if any
	cancelling bool
	quitting   bool
	closed     bool // Close's message was shown
}

func newModel(cfg *config) model {
	m := model{cfg: cfg, width: cfg.opts.Width, height: cfg.opts.Height}
	m.wait = newWaitScreen(cfg, m.width, m.height)
	m.screen = m.wait
	return m
}

func (m model) Init() tea.Cmd { return tea.Batch(m.screen.Init(), m.cfg.tick()) }

func (m model) show(s tea.Model) (model, tea.Cmd) {
	m.screen = s
	return m, s.Init()
}

func (m model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	if m.quitting {
		return m, nil
	}
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		// A terminal rewraps and scrolls what is on it when it is resized,
		// so the renderer, which redraws by moving up the lines it drew,
		// would leave stale copies of the view above the new one: clear
		// the screen when the size changes (not on the first size).
		var clear tea.Cmd
		if m.width > 0 && m.height > 0 && (msg.Width != m.width || msg.Height != m.height) {
			clear = tea.ClearScreen
		}
		m.width, m.height = msg.Width, msg.Height
		// Screens kept aside learn the size too, for when they come back.
		if _, onWait := m.screen.(waitScreen); !onWait {
			ws, _ := m.wait.Update(msg)
			m.wait = ws.(waitScreen)
		}
		if _, onProgress := m.screen.(progressScreen); !onProgress && m.progress != nil {
			ps, _ := m.progress.Update(msg)
			p := ps.(progressScreen)
			m.progress = &p
		}
		next, cmd := m.forward(msg)
		return next, tea.Batch(clear, cmd)

	case tea.KeyMsg:
		cancel := m.cfg.keys.cancel
		if _, prompting := m.screen.(offerScreen); prompting {
			cancel = m.cfg.keys.offerCancel // q answers the question there
		}
		if key.Matches(msg, cancel) {
			return m.interrupt()
		}
		return m.forward(msg)

	case interruptMsg:
		return m.interrupt()

	case tickMsg:
		if m.progress != nil {
			p := m.progress.at(m.cfg.now())
			m.progress = &p
			if _, onProgress := m.screen.(progressScreen); onProgress {
				m.screen = p
			}
		}
		return m, m.cfg.tick()

	case eventMsg:
		return m.event(msg.event)

	case offerMsg:
		if m.reply != nil { // one prompt at a time; the newer one wins
			m.reply <- acceptReply{err: context.Canceled}
		}
		m.reply = msg.reply
		o := msg.offer
		m.offer = &o
		return m.show(newQuestionScreen(m.cfg, o, msg.clash, m.width, m.height))

	case dismissOfferMsg:
		if m.reply == msg.reply {
			m.reply = nil
			m.wait = m.wait.step("the offer was withdrawn")
			return m.show(m.wait)
		}
		return m, nil

	case decisionMsg:
		if m.reply == nil {
			return m, nil
		}
		m.reply <- acceptReply{ok: msg.accept, choice: msg.choice}
		m.reply = nil
		switch {
		case msg.accept && m.offer != nil && m.offer.Resumable > 0:
			// Hashing what is here takes a while for large part files.
			m.wait = m.wait.finishStep().step("checking the " + size(m.offer.Resumable) + " already here")
		case msg.accept:
			m.wait = m.wait.finishStep().step("starting the transfer")
		default:
			m.wait = m.wait.finishStep().step("declined; telling the sender")
		}
		return m.show(m.wait)

	case closeMsg:
		if m.reply != nil {
			m.reply <- acceptReply{err: context.Canceled}
			m.reply = nil
		}
		m.closed = true
		m.quitting = true
		m.screen = newSummaryScreen(m.cfg, m.summary(msg.err), m.width)
		return m, tea.Quit
	}
	return m.forward(msg)
}

// forward gives msg to the current screen.
func (m model) forward(msg tea.Msg) (tea.Model, tea.Cmd) {
	s, cmd := m.screen.Update(msg)
	m.screen = s
	switch s := s.(type) {
	case waitScreen:
		m.wait = s
	case progressScreen:
		m.progress = &s
	}
	return m, cmd
}

// interrupt handles Ctrl-C: the first asks the CLI to cancel the transfer,
// which ends with Close; a second one gives the terminal back at once.
func (m model) interrupt() (tea.Model, tea.Cmd) {
	if m.cancelling {
		m.quitting = true
		return m, tea.Quit
	}
	m.cancelling = true
	if m.reply != nil {
		m.reply <- acceptReply{err: ErrCancelled}
		m.reply = nil
		m.screen = m.wait
	}
	cancel := m.cfg.opts.cancel
	// Cancel runs outside Update: if it sends events back into the view,
	// the program is free to take them.
	return m, func() tea.Msg { cancel(); return nil }
}

func (m model) event(e transfer.Event) (tea.Model, tea.Cmd) {
	switch e := e.(type) {
	case transfer.CodeReady:
		m.wait = m.wait.withCode(e)
	case transfer.Connecting:
		m.wait = m.wait.connecting(e.Relay)
	case transfer.Paired:
		m.wait = m.wait.paired()
	case transfer.Secured:
		m.wait = m.wait.secured(e.Cipher)
	case transfer.PathChosen:
		m.wait = m.wait.pathChosen(e)
	case transfer.OfferSent:
		o := transfer.OfferReceived(e)
		m.offer = &o
		m.wait = m.wait.offerSent(o)
	case transfer.OfferReceived:
		o := e
		m.offer = &o
		what := offerWhat(o)
		m.wait = m.wait.finishStep().lastDid(func(string) string { return "offered " + what })
	case transfer.Accepted:
		p := newProgressScreen(m.cfg, m.offer, e.ResumeBytes, m.width, m.height)
		p.skipped = len(m.skipped)
		p.resumes = m.resumes
		m.progress = &p
		return m.show(p)
	case transfer.Progress, transfer.FileDone:
		if m.progress == nil {
			p := newProgressScreen(m.cfg, m.offer, 0, m.width, m.height)
			p.skipped = len(m.skipped)
			m.progress = &p
		}
		_, onProgress := m.screen.(progressScreen)
		ps, _ := m.progress.Update(eventMsg{e})
		p := ps.(progressScreen)
		m.progress = &p
		if !onProgress {
			return m.show(p)
		}
		m.screen = p
		return m, nil
	case transfer.TextReceived:
		m.texts = append(m.texts, e.Text)
	case transfer.Skipped:
		m.skipped = append(m.skipped, skippedLine(e))
		m.wait.skipped = len(m.skipped)
		if m.progress != nil {
			m.progress.skipped = len(m.skipped)
			if _, onProgress := m.screen.(progressScreen); onProgress {
				m.screen = *m.progress
			}
		}
	case transfer.Changed:
		m.changed = append(m.changed, changedEntry(e))
		return m, nil
	case transfer.ResumeChecked:
		m.resumes = append(m.resumes, resumeLine(e))
		return m, nil
	case transfer.Done:
		d := e
		m.done = &d
		return m, nil
	default:
		return m, nil
	}
	if _, onWait := m.screen.(waitScreen); onWait {
		m.screen = m.wait
	}
	return m, nil
}

func (m model) summary(err error) summary {
	s := summary{role: m.cfg.opts.Role, done: m.done, texts: m.texts, offer: m.offer, skipped: m.skipped, changed: m.changed, resumes: m.resumes}
	if err != nil {
		s.err = m.cfg.opts.describe(err)
	}
	return s
}

// View is the live screen. Once closed it is empty: the summary is printed
// after the program ends (finalText), so that it is never cut to the
// window's height and no stale frame stays above it.
func (m model) View() string {
	if m.closed {
		return ""
	}
	st := m.cfg.st
	var b strings.Builder
	b.WriteString(m.screen.View())
	if m.cancelling {
		b.WriteString("\n\n")
		if m.quitting {
			b.WriteString(st.warn.Render("stopped before the transfer ended"))
		} else {
			b.WriteString(st.warn.Render("cancelling… (" + m.cfg.keys.cancel.Help().Key + " again to quit now)"))
		}
	}
	return fitWindow(st, b.String(), m.width, m.height) + "\n"
}

// finalText is the summary or the error, for after the program has ended.
// It fits the window's width; its height is not limited.
func (m model) finalText() string {
	if !m.closed {
		return ""
	}
	return fitWindow(m.cfg.st, m.screen.View(), m.width, 0) + "\n"
}

// fitWindow lays out a screen in the window: with the app's margins,
// wrapped to the width and cut where a line is still too wide, and, when
// height > 0, in fewer lines than height (the trailing newline takes one):
// blank lines go first, then lines from the top. A line wider than the
// window or a view taller than it would make the terminal wrap or scroll
// what the renderer thinks it drew, leaving stale copies behind.
func fitWindow(st styles, view string, width, height int) string {
	if width <= 0 {
		width = 80
	}
	lines := strings.Split(trimLines(st.app.Width(min(width, 100)).MaxWidth(width).Render(view)), "\n")
	if height <= 0 || len(lines) < height {
		return strings.Join(lines, "\n")
	}
	kept := lines[:0:0]
	for _, l := range lines {
		if l != "" {
			kept = append(kept, l)
		}
	}
	if extra := len(kept) - (height - 1); extra > 0 {
		kept = kept[extra:]
	}
	return strings.Join(kept, "\n")
}

// trimLines drops the spaces lipgloss pads lines with: they only make
// copying from the terminal worse.
func trimLines(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " ")
	}
	return strings.Join(lines, "\n")
}
