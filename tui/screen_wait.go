package tui

import (
	"fmt"
	"strings"

	"github.com/bob-p2p/bob/internal/safeterm"
	"github.com/bob-p2p/bob/transfer"
	"github.com/charmbracelet/bubbles/spinner"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
)

// step is one line of the waiting screen's checklist: what is happening
// (doing) and, once it has happened, what was achieved (did).
type step struct {
	doing, did string
	done       bool
}

// waitScreen is everything before data flows: the sender's code and receive
// command (and QR code), and for both sides a checklist of the connection
// steps with a spinner on the current one.
type waitScreen struct {
	cfg           *config
	width, height int
	spin          spinner.Model
	code          string
	command       string
	where         string // where the command works: "the other machine"
	hints         []string
	qr            string
	steps         []step
	skipped       int // entries the sender left out
}

func newWaitScreen(cfg *config, width, height int) waitScreen {
	s := waitScreen{
		cfg:    cfg,
		width:  width,
		height: height,
		spin:   spinner.New(spinner.WithSpinner(spinner.Dot), spinner.WithStyle(cfg.st.spinner)),
	}
	return s.stepDid("connecting to the relay", "connected to the relay")
}

func (s waitScreen) Init() tea.Cmd {
	if !s.cfg.animate {
		return nil
	}
	return s.spin.Tick
}

func (s waitScreen) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		s.width, s.height = msg.Width, msg.Height
	case spinner.TickMsg:
		var cmd tea.Cmd
		s.spin, cmd = s.spin.Update(msg)
		return s, cmd
	}
	return s, nil
}

// step starts a new current step.
func (s waitScreen) step(doing string) waitScreen {
	return s.stepDid(doing, doing)
}

func (s waitScreen) stepDid(doing, did string) waitScreen {
	s.steps = append(s.steps[:len(s.steps):len(s.steps)], step{doing: doing, did: did})
	return s
}

// finishStep marks the current step done.
func (s waitScreen) finishStep() waitScreen {
	if n := len(s.steps); n > 0 && !s.steps[n-1].done {
		steps := append([]step(nil), s.steps...)
		steps[n-1].done = true
		s.steps = steps
	}
	return s
}

// lastDid rewrites what the last step achieved. The steps are copied:
// screens are values, and older copies must not change.
func (s waitScreen) lastDid(f func(did string) string) waitScreen {
	if n := len(s.steps); n > 0 {
		steps := append([]step(nil), s.steps...)
		steps[n-1].did = f(steps[n-1].did)
		s.steps = steps
	}
	return s
}

// current is the step in progress, if any.
func (s waitScreen) current() (step, bool) {
	if n := len(s.steps); n > 0 && !s.steps[n-1].done {
		return s.steps[n-1], true
	}
	return step{}, false
}

func (s waitScreen) connecting(relay string) waitScreen {
	relay = safeterm.Escape(relay)
	doing, did := "looking for the sender", "looked for the sender on this network"
	if relay != "" {
		doing, did = "connecting to relay "+relay, "connected to relay "+relay
	}
	if cur, ok := s.current(); ok && strings.HasPrefix(cur.doing, "connecting to") {
		s.steps = append([]step(nil), s.steps[:len(s.steps)-1]...)
	}
	if cur, ok := s.current(); ok && cur.doing == "looking for the sender" {
		s = s.finishStep()
	}
	return s.stepDid(doing, did)
}

func (s waitScreen) withCode(c transfer.CodeReady) waitScreen {
	s.code = safeterm.Escape(c.Code)
	s.command = safeterm.Escape(s.cfg.opts.receiveCommand(c.Code))
	s.where = runWhere(c)
	s.hints = nil
	if other := elsewhereCommand(c); other != "" {
		s.hints = append(s.hints, "from another network: "+other)
	}
	if s.cfg.opts.QR {
		s.qr, _ = qrCode(s.command)
	}
	return s.finishStep().stepDid("waiting for the receiver", "the receiver joined")
}

func (s waitScreen) paired() waitScreen {
	s = s.finishStep()
	if s.cfg.opts.Role == Receiving {
		s = s.lastDid(func(did string) string { return did + " · found the sender" })
	}
	return s.stepDid("checking the code", "code checked")
}

func (s waitScreen) secured(cipher string) waitScreen {
	s = s.finishStep()
	if cipher != "" {
		s = s.lastDid(func(string) string {
			return "code checked · end-to-end encrypted (" + safeterm.Escape(cipher) + ")"
		})
	}
	if s.cfg.opts.Role == Sending {
		return s.stepDid("sending the offer", "offer sent")
	}
	return s.stepDid("waiting for the offer", "offer received")
}

func (s waitScreen) pathChosen(p transfer.PathChosen) waitScreen {
	return s.stepDid(pathText(p), pathText(p)).finishStep()
}

func (s waitScreen) offerSent(o transfer.OfferReceived) waitScreen {
	s = s.finishStep()
	return s.stepDid("waiting for the receiver to accept "+offerWhat(o), "the receiver accepted "+offerWhat(o))
}

func (s waitScreen) title() string {
	if s.cfg.opts.Role == Sending {
		return "bob · send"
	}
	return "bob · receive"
}

func (s waitScreen) View() string {
	st := s.cfg.st
	cw := contentWidth(s.width)
	var top []string
	top = append(top, st.title.Render(s.title()), "")
	if s.code != "" {
		box := st.codeBox.Render(st.code.Render(s.code))
		if lipgloss.Width(box) > cw {
			box = st.code.Render(s.code)
		}
		top = append(top, box, "", st.label.Render("On "+s.where+" run:"))
		for _, l := range wrapCommand(s.command, cw) {
			top = append(top, st.command.Render(l))
		}
		top = append(top, st.dim.Render("then type the code"))
		for _, h := range s.hints {
			top = append(top, st.dim.Render(h))
		}
	}

	var bottom []string
	if s.code != "" {
		bottom = append(bottom, "")
	}
	for _, stp := range s.steps {
		if stp.done {
			bottom = append(bottom, st.ok.Render("✓")+" "+stp.did)
		} else {
			bottom = append(bottom, s.spin.View()+stp.doing+"…")
		}
	}
	if s.skipped > 0 {
		bottom = append(bottom, st.warn.Render(skippedNote(s.skipped)))
	}
	bottom = append(bottom, "", st.helpLine(0, " · ", s.cfg.keys.cancel))

	// Without room for the box, the code stands on its own line. The
	// window also holds the top margin and the line after the view.
	if s.code != "" && s.height > 0 && lineCount(top)+lineCount(bottom)+2 > s.height {
		top[2] = st.code.Render(s.code)
	}
	if s.qr != "" {
		qrLines := strings.Count(s.qr, "\n") + 1
		need := lineCount(top) + 1 + qrLines + lineCount(bottom) + 2 // +2: the top margin, the line after
		switch {
		case lipgloss.Width(s.qr) > cw:
			top = append(top, "", st.dim.Render("(widen the window to see the QR code)"))
		case s.height > 0 && need > s.height:
			top = append(top, "", st.dim.Render(fmt.Sprintf("(the QR code needs a window %d lines tall)", need)))
		default:
			top = append(top, "", s.qr)
		}
	}
	return strings.Join(append(top, bottom...), "\n")
}

// lineCount is how many lines parts take once joined.
func lineCount(parts []string) int {
	n := 0
	for _, p := range parts {
		n += strings.Count(p, "\n") + 1
	}
	return n
}
