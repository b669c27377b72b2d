package tui

import (
	"slices"
	"strings"

	"github.com/bob-p2p/bob/transfer"
	"github.com/charmbracelet/bubbles/help"
	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/lipgloss"
)

// keyMap is every key the views answer to, each bound once with its help.
// Update matches keys against these bindings and every help line is drawn
// from them, so what a help line says and what the keys do cannot drift.
// A binding's first help key is the one shown; the other keys are
// aliases (vi keys for the list, q and esc for the safe answer).
type keyMap struct {
	// cancel stops the transfer on the waiting and progress screens; a
	// second one quits at once. On the offer screen q answers the
	// question, so there only ctrl+c cancels (offerCancel).
	cancel, offerCancel key.Binding

	// The offer screen's list.
	up, down, pageUp, pageDown, home, end key.Binding
	// The offer screen's buttons: moving the highlight and taking it.
	left, right, next, prev, confirm key.Binding
	// The answers of the two questions, in the order of their buttons;
	// the last is the safe one.
	accept, decline                        key.Binding
	overwrite, keepBoth, skip, clashCancel key.Binding

	// The code prompt.
	complete, enter, promptCancel key.Binding
}

func newKeyMap() keyMap {
	b := func(help, desc string, keys ...string) key.Binding {
		return key.NewBinding(key.WithKeys(keys...), key.WithHelp(help, desc))
	}
	return keyMap{
		cancel:      b("ctrl+c", "cancel", "ctrl+c", "q"),
		offerCancel: b("ctrl+c", "cancel", "ctrl+c"),

		up:       b("↑/↓", "scroll", "up", "k"),
		down:     b("↑/↓", "scroll", "down", "j"),
		pageUp:   b("pgup/pgdn", "scroll", "pgup", "b"),
		pageDown: b("pgup/pgdn", "scroll", "pgdown", " ", "f"),
		home:     b("home/end", "scroll", "home", "g"),
		end:      b("home/end", "scroll", "end", "G"),

		left:    b("←/→", "choose", "left"),
		right:   b("←/→", "choose", "right"),
		next:    b("tab", "choose", "tab"),       // shift+tab is its reverse, as
		prev:    b("tab", "choose", "shift+tab"), // ↑/↓ pairs up and down
		confirm: b("enter", "confirm", "enter"),

		accept:      b("y", "accept", "y", "Y"),
		decline:     b("n", "decline", "n", "N", "q", "esc", "c", "C"),
		overwrite:   b("o", "overwrite", "o", "O"),
		keepBoth:    b("k", "keep both", "k", "K"),
		skip:        b("s", "skip those", "s", "S"),
		clashCancel: b("c", "cancel", "c", "C", "n", "N", "q", "esc"),

		complete:     b("tab", "completes words", "tab"),
		enter:        b("enter", "confirms", "enter"),
		promptCancel: b("esc", "cancels", "esc", "ctrl+c"),
	}
}

// scrollKeys are the offer list's bindings, for its help line.
func (k keyMap) scrollKeys() []key.Binding {
	return []key.Binding{k.up, k.down, k.pageUp, k.pageDown, k.home, k.end}
}

// buttons are the answers of the accept question, or with clash of the
// question about files that exist.
func (k keyMap) buttons(clash bool) []button {
	if clash {
		return []button{
			{"Overwrite", k.overwrite, true, transfer.ClashOverwrite},
			{"Keep both", k.keepBoth, true, transfer.ClashKeepBoth},
			{"Skip those", k.skip, true, transfer.ClashSkip},
			{"Cancel", k.clashCancel, false, transfer.ClashCancel},
		}
	}
	return []button{{"Accept", k.accept, true, 0}, {"Decline", k.decline, false, 0}}
}

// without is b less the keys that others bind: the clash question's k
// keeps both files, so there k does not scroll.
func without(b key.Binding, others []button) key.Binding {
	var keys []string
	for _, k := range b.Keys() {
		taken := false
		for _, o := range others {
			taken = taken || slices.Contains(o.keys.Keys(), k)
		}
		if !taken {
			keys = append(keys, k)
		}
	}
	b.SetKeys(keys...)
	return b
}

// promptKeys are the code prompt's bindings, for its help line.
func (k keyMap) promptKeys() []key.Binding {
	return []key.Binding{k.complete, k.enter, k.promptCancel}
}

// helpLine draws bindings as a help line with bubbles/help, items joined
// by sep. Bindings in a row with the same description share it, their
// help keys joined by spaces ("↑/↓ pgup/pgdn home/end scroll"), and a
// help key already shown in that item (↑/↓ for up and for down) shows
// once. With width > 0 the line wraps between items, never between a key
// and what it does.
func (st styles) helpLine(width int, sep string, bindings ...key.Binding) string {
	var items []key.Binding
	var keys []string // the help keys of the last item
	for _, b := range bindings {
		if !b.Enabled() {
			continue
		}
		h := b.Help()
		if n := len(items); n > 0 && items[n-1].Help().Desc == h.Desc {
			if keys[len(keys)-1] != h.Key {
				keys = append(keys, h.Key)
				items[n-1].SetHelp(items[n-1].Help().Key+" "+h.Key, h.Desc)
			}
			continue
		}
		items = append(items, b) // a copy: SetHelp above leaves b alone
		keys = []string{h.Key}
	}
	m := help.Model{ShortSeparator: sep, Styles: help.Styles{ShortKey: st.key, ShortDesc: st.dim, ShortSeparator: st.dim}}
	var lines []string
	line := ""
	for _, item := range items {
		text := m.ShortHelpView([]key.Binding{item})
		switch {
		case line == "":
			line = text
		case width > 0 && lipgloss.Width(line+sep+text) > width:
			lines = append(lines, strings.TrimRight(line+st.dim.Render(strings.TrimRight(sep, " ")), " "))
			line = text
		default:
			line += st.dim.Render(sep) + text
		}
	}
	return strings.Join(append(lines, line), "\n")
}
