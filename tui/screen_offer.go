package tui

import (
	"fmt"
	"strings"

	"github.com/bob-p2p/bob/transfer"
	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
)

// offerScreen shows what the sender offers, every entry in a scrollable
// list with hidden names, writes into existing folders and files that exist
// flagged, and asks: y accepts, n declines, enter takes the highlighted
// button, which starts on Decline so a stray enter is safe. When files of
// offered names exist (clash), it asks what to do with them instead:
// overwrite, keep both, skip those, or cancel (the start).
type offerScreen struct {
	cfg           *config
	width, height int
	offer         transfer.OfferReceived
	list          entryList
	keys          keyMap // cfg.keys less what the buttons bind
	buttons       []button
	sel           int // the highlighted button
	answered      bool
}

// button is one answer: its label, its keys, and what it decides.
type button struct {
	label  string
	keys   key.Binding
	accept bool
	choice transfer.ClashChoice
}

func newOfferScreen(cfg *config, o transfer.OfferReceived, width, height int) offerScreen {
	return newQuestionScreen(cfg, o, false, width, height)
}

// newQuestionScreen is the offer screen; with clash it asks about files
// that exist rather than whether to accept.
func newQuestionScreen(cfg *config, o transfer.OfferReceived, clash bool, width, height int) offerScreen {
	s := offerScreen{cfg: cfg, offer: o, keys: cfg.keys, buttons: cfg.keys.buttons(clash)}
	for _, b := range []*key.Binding{&s.keys.up, &s.keys.down, &s.keys.pageUp, &s.keys.pageDown, &s.keys.home, &s.keys.end} {
		*b = without(*b, s.buttons)
	}
	s.sel = len(s.buttons) - 1 // the safe answer
	s.list = entryList{cfg: cfg, n: len(o.Entries), unit: "entries", line: func(i int) string {
		return offerEntryLine(o.Entries[i], o.IsStream, cfg.st.warn.Render)
	}}
	switch {
	case o.IsText && o.Text != "":
		// A short text comes in the offer: it is read before accepting
		// (issue 16, item 19), a line at a time if it has many.
		text := strings.Split(escapeLines(o.Text), "\n")
		s.list.n, s.list.unit, s.list.line = len(text), "lines", func(i int) string { return text[i] }
	case o.IsText: // its one entry has no name to show
		s.list.n = 0
	}
	return s.resize(width, height)
}

func (s offerScreen) resize(width, height int) offerScreen {
	s.width, s.height = width, height
	h := min(s.list.n, 10)
	s.list.width = contentWidth(width) - s.cfg.st.listBox.GetHorizontalFrameSize()
	if height > 0 {
		// The list gets what the rest of the screen, as wrapped to the
		// window, leaves: the window also holds the top margin and the
		// line after the view. When that is little, fitWindow drops the
		// blank lines, and the list gets their room.
		s.list.height = 1
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
		h = min(s.list.n, max(1, room))
	}
	s.list.height = h
	s.list.scroll(0) // clamp to the new height
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
		for i, b := range s.buttons {
			if key.Matches(msg, b.keys) {
				return s.answer(i)
			}
		}
		k, last := s.keys, len(s.buttons)-1
		switch {
		case key.Matches(msg, k.confirm):
			return s.answer(s.sel)
		case key.Matches(msg, k.left):
			s.sel = max(s.sel-1, 0)
		case key.Matches(msg, k.right):
			s.sel = min(s.sel+1, last)
		case key.Matches(msg, k.next):
			s.sel = (s.sel + 1) % len(s.buttons)
		case key.Matches(msg, k.prev):
			s.sel = (s.sel + last) % len(s.buttons)
		case key.Matches(msg, k.up):
			s.list.scroll(-1)
		case key.Matches(msg, k.down):
			s.list.scroll(1)
		case key.Matches(msg, k.pageUp):
			s.list.scroll(-s.list.height)
		case key.Matches(msg, k.pageDown):
			s.list.scroll(s.list.height)
		case key.Matches(msg, k.home):
			s.list.scroll(-s.list.n)
		case key.Matches(msg, k.end):
			s.list.scroll(s.list.n)
		}
		return s, nil
	}
	return s, nil
}

func (s offerScreen) answer(i int) (tea.Model, tea.Cmd) {
	s.answered = true
	b := s.buttons[i]
	return s, func() tea.Msg { return decisionMsg{accept: b.accept, choice: b.choice} }
}

func (s offerScreen) View() string {
	st := s.cfg.st
	o := s.offer
	lines := []string{st.title.Render("bob · receive"), ""}
	lines = append(lines, "The sender offers "+st.command.Render(offerWhat(o))+":")
	if n := s.list.n; n > 0 {
		view, last := s.list.view()
		lines = append(lines, st.listBox.Render(view))
		if last < n || s.list.offset > 0 {
			lines = append(lines, st.dim.Render(fmt.Sprintf("%s %d–%d of %d · ", s.list.unit, s.list.offset+1, last, n))+
				st.helpLine(0, " · ", s.keys.scrollKeys()...))
		}
	}
	for _, w := range offerWarnings(o) {
		lines = append(lines, st.warn.Render("! "+w))
	}
	if o.LeftOut > 0 {
		lines = append(lines, st.dim.Render(leftOutNote(o.LeftOut)))
	}
	if o.Resumable > 0 {
		lines = append(lines, st.dim.Render(resumableNote(o.Resumable)))
	}
	var row []string
	for i, b := range s.buttons {
		if i > 0 {
			row = append(row, " ")
		}
		if i == s.sel {
			row = append(row, st.selected.Render(b.label))
		} else {
			row = append(row, st.button.Render(b.label))
		}
	}
	if len(s.buttons) > 2 {
		lines = append(lines, "", "Some files are already here. What should bob do with them?")
	}
	lines = append(lines, "", lipgloss.JoinHorizontal(lipgloss.Top, row...), "", st.helpLine(contentWidth(s.width), " · ", s.helpKeys()...))
	return strings.Join(lines, "\n")
}

// helpKeys are the bindings of the screen's help line, each answer first.
func (s offerScreen) helpKeys() []key.Binding {
	var keys []key.Binding
	for _, b := range s.buttons {
		keys = append(keys, b.keys)
	}
	k := s.keys
	return append(keys, k.left, k.right, k.next, k.prev, k.confirm, k.offerCancel)
}

// entryList is the offer's entries (or a short text's lines), drawn a
// window at a time: an offer may hold a million entries, and only what
// shows is ever rendered. A long name wraps rather than being cut, so that
// no part of it is hidden.
type entryList struct {
	cfg           *config
	n             int                // entries
	line          func(i int) string // entry i, escaped
	unit          string             // what an entry is: "entries", "lines"
	offset        int                // the first entry shown
	width, height int                // in cells and lines
}

// lines renders entry i, wrapped to the list's width.
func (l entryList) lines(i int) []string {
	return strings.Split(l.cfg.r.NewStyle().Width(max(l.width, 1)).Render(l.line(i)), "\n")
}

// view draws the window from offset, height lines padded to the width, and
// returns the 1-based number of the last entry shown whole (or the first,
// if even it does not fit).
func (l entryList) view() (string, int) {
	var out []string
	last := l.offset
	for i := l.offset; i < l.n && len(out) < l.height; i++ {
		ls := l.lines(i)
		if len(out)+len(ls) <= l.height || i == l.offset {
			last = i + 1
		}
		out = append(out, ls...)
	}
	box := l.cfg.r.NewStyle().Width(l.width).Height(l.height).MaxHeight(l.height).MaxWidth(l.width)
	return box.Render(strings.Join(out, "\n")), last
}

// maxOffset is the first entry of the last full window.
func (l entryList) maxOffset() int {
	used := 0
	for i := l.n - 1; i >= 0; i-- {
		used += len(l.lines(i))
		if used > l.height {
			return min(i+1, l.n-1)
		}
	}
	return 0
}

// scroll moves the window by n entries, within the list.
func (l *entryList) scroll(n int) {
	l.offset = max(0, min(l.offset+n, l.maxOffset()))
}
