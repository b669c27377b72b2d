package tui

import (
	"fmt"
	"strings"

	"github.com/bob-p2p/bob/transfer"
	"github.com/charmbracelet/bubbles/viewport"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
)

// offerScreen shows what the sender offers, the first entries in a
// scrollable list, and asks: y accepts, n declines, enter takes the
// highlighted button, which starts on Decline so a stray enter is safe.
type offerScreen struct {
	cfg           *config
	width, height int
	offer         transfer.OfferReceived
	list          viewport.Model
	accept        bool // the highlighted button
	answered      bool
}

func newOfferScreen(cfg *config, o transfer.OfferReceived, width, height int) offerScreen {
	s := offerScreen{cfg: cfg, offer: o}
	lines := make([]string, len(o.Entries))
	for i, e := range o.Entries {
		lines[i] = entryLine(e)
	}
	s.list = viewport.New(0, 0)
	s.list.SetContent(strings.Join(lines, "\n"))
	return s.resize(width, height)
}

func (s offerScreen) resize(width, height int) offerScreen {
	s.width, s.height = width, height
	h := min(len(s.offer.Entries), 10)
	s.list.Width = contentWidth(width) - s.cfg.st.listBox.GetHorizontalFrameSize()
	if height > 0 {
		// The list gets what the rest of the screen, as wrapped to the
		// window, leaves: the window also holds the top margin and the
		// line after the view. When that is little, fitWindow drops the
		// blank lines, and the list gets their room.
		s.list.Height = 1
		lines := strings.Split(s.cfg.r.NewStyle().Width(contentWidth(width)).Render(s.View()), "\n")
		room := height - 2 - (len(lines) - 1)
		if room < 3 {
			nonBlank := 0
			for _, l := range lines {
				if strings.TrimSpace(l) != "" {
					nonBlank++
				}
			}
			room = height - nonBlank
		}
		h = min(len(s.offer.Entries), max(1, room))
	}
	s.list.Height = h
	s.list.SetYOffset(s.list.YOffset) // clamp to the new height
	return s
}

func (s offerScreen) Init() tea.Cmd { return nil }

func (s offerScreen) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		return s.resize(msg.Width, msg.Height), nil
	case tea.KeyMsg:
		if s.answered {
			return s, nil
		}
		switch msg.String() {
		case "y", "Y":
			return s.answer(true)
		case "n", "N", "q", "esc":
			return s.answer(false)
		case "enter":
			return s.answer(s.accept)
		case "left": // Accept is the left button
			s.accept = true
			return s, nil
		case "right":
			s.accept = false
			return s, nil
		case "tab", "shift+tab": // two buttons: cycling either way toggles
			s.accept = !s.accept
			return s, nil
		}
		var cmd tea.Cmd
		s.list, cmd = s.list.Update(msg)
		return s, cmd
	}
	return s, nil
}

func (s offerScreen) answer(accept bool) (tea.Model, tea.Cmd) {
	s.answered = true
	return s, func() tea.Msg { return decisionMsg{accept: accept} }
}

func (s offerScreen) View() string {
	st := s.cfg.st
	o := s.offer
	lines := []string{st.title.Render("bob · receive"), ""}
	lines = append(lines, "The sender offers "+st.command.Render(offerWhat(o))+":")
	if len(o.Entries) > 0 && !o.IsText && !o.IsStream { // their one entry has no name to show
		lines = append(lines, st.listBox.Render(s.list.View()))
		if n := len(o.Entries); n > s.list.Height {
			first := s.list.YOffset + 1
			last := min(n, s.list.YOffset+s.list.Height)
			lines = append(lines, st.dim.Render(fmt.Sprintf("entries %d–%d of %d · ↑/↓ pgup/pgdn scroll", first, last, n)))
		}
		if more := o.Files + o.Folders - len(o.Entries); more > 0 {
			lines = append(lines, st.dim.Render(fmt.Sprintf("…and %d more not listed", more)))
		}
	}
	if o.Resumable > 0 {
		lines = append(lines, st.dim.Render(resumableNote(o.Resumable)))
	}
	accept, decline := st.button.Render("Accept"), st.button.Render("Decline")
	if s.accept {
		accept = st.selected.Render("Accept")
	} else {
		decline = st.selected.Render("Decline")
	}
	lines = append(lines, "", lipgloss.JoinHorizontal(lipgloss.Top, accept, " ", decline), "")
	help := st.key.Render("y") + " accept · " + st.key.Render("n") + " decline · " +
		st.key.Render("←/→") + " choose · " + st.key.Render("enter") + " confirm · " +
		st.key.Render("ctrl+c") + " cancel"
	lines = append(lines, st.dim.Render(help))
	return strings.Join(lines, "\n")
}
