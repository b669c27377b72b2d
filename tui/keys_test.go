package tui

import (
	"fmt"
	"io"
	"reflect"
	"strings"
	"testing"

	"github.com/bob-p2p/bob/transfer"
	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
)

// keyMsg is the key a binding's key name stands for, as the terminal
// sends it; a name it does not know fails the test.
func keyMsg(t *testing.T, name string) tea.KeyMsg {
	t.Helper()
	named := map[string]tea.KeyType{
		"up": tea.KeyUp, "down": tea.KeyDown, "pgup": tea.KeyPgUp, "pgdown": tea.KeyPgDown,
		"home": tea.KeyHome, "end": tea.KeyEnd, "left": tea.KeyLeft, "right": tea.KeyRight,
		"tab": tea.KeyTab, "shift+tab": tea.KeyShiftTab, "enter": tea.KeyEnter, "esc": tea.KeyEsc,
		"ctrl+c": tea.KeyCtrlC, " ": tea.KeySpace,
	}
	var k tea.KeyMsg
	if typ, ok := named[name]; ok {
		k = tea.KeyMsg{Type: typ}
	} else if len([]rune(name)) == 1 {
		k = tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(name)}
	} else {
		t.Fatalf("no key message for the key name %q", name)
	}
	if k.String() != name {
		t.Fatalf("key %q reads as %q", name, k.String())
	}
	return k
}

// keyScreen is one screen of the views with the bindings it answers to:
// the test's own list, so that a binding the screen forgets to show or to
// handle fails here rather than agreeing with itself.
type keyScreen struct {
	name     string
	bindings func(k keyMap) []key.Binding
	view     func(t *testing.T) string
}

func keyScreens() []keyScreen {
	km := newKeyMap()
	offer := func(clash bool) func(*testing.T) string {
		return func(*testing.T) string { return offerModel(clash).View() }
	}
	return []keyScreen{
		{"waiting", func(k keyMap) []key.Binding { return []key.Binding{k.cancel} }, func(*testing.T) string {
			return feed(testModel(Sending), events(senderCode())...).View()
		}},
		{"progress", func(k keyMap) []key.Binding { return []key.Binding{k.cancel} }, func(*testing.T) string {
			return feed(testModel(Sending), events(progressEvents()...)...).View()
		}},
		{"offer", func(k keyMap) []key.Binding {
			return []key.Binding{k.up, k.down, k.pageUp, k.pageDown, k.home, k.end, k.left, k.right, k.next, k.prev,
				k.confirm, k.accept, k.decline, k.offerCancel}
		}, offer(false)},
		{"clash", func(k keyMap) []key.Binding {
			return []key.Binding{without(k.up, km.buttons(true)), k.down, k.pageUp, k.pageDown, k.home, k.end,
				k.left, k.right, k.next, k.prev, k.confirm, k.overwrite, k.keepBoth, k.skip, k.clashCancel, k.offerCancel}
		}, offer(true)},
		{"code prompt", func(k keyMap) []key.Binding { return []key.Binding{k.complete, k.enter, k.promptCancel} },
			func(*testing.T) string {
				return newPromptModel(newStyles(lipgloss.NewRenderer(io.Discard)), completeWords).View()
			}},
	}
}

func testModel(role Role) model {
	opts := testOptions(role)
	opts.Cancel = func() {}
	m := newModel(newConfig(opts, lipgloss.NewRenderer(io.Discard), false))
	return feed(m, tea.WindowSizeMsg{Width: 80, Height: 24})
}

// offerModel is the model asking about a 60-entry offer, which scrolls
// over several pages at 80x24.
func offerModel(clash bool) model {
	o := sampleOffer(60)
	if clash {
		o.Entries[2].Clash = true
	}
	return feed(testModel(Receiving), offerMsg{offer: o, clash: clash, reply: make(chan acceptReply, 1)})
}

// TestKeyMapCovered: every binding of the key map belongs to a screen of
// this test, so none escapes the checks below.
func TestKeyMapCovered(t *testing.T) {
	km := newKeyMap()
	listed := map[string]bool{} // the bindings as fmt prints them
	for _, s := range keyScreens() {
		for _, b := range s.bindings(km) {
			listed[fmt.Sprint(b)] = true
		}
	}
	v := reflect.ValueOf(km)
	for i := range v.NumField() {
		if !listed[fmt.Sprint(v.Field(i))] {
			t.Errorf("binding %s is on no screen of this test", v.Type().Field(i).Name)
		}
	}
}

// TestHelpLinesShowEveryBinding: each screen's help line names every key
// the screen answers to, with what it does, and no key does two things on
// one screen.
func TestHelpLinesShowEveryBinding(t *testing.T) {
	for _, s := range keyScreens() {
		t.Run(s.name, func(t *testing.T) {
			view := s.view(t)
			bound := map[string]string{}
			for _, b := range s.bindings(newKeyMap()) {
				h := b.Help()
				// The help key and its description are on one line, with
				// at most the other keys of the same description between.
				shown := false
				for _, line := range strings.Split(view, "\n") {
					if i := strings.Index(line, h.Key+" "); i >= 0 && strings.Contains(line[i:], " "+h.Desc) {
						shown = true
					}
				}
				if !shown {
					t.Errorf("the help does not show %q %q:\n%s", h.Key, h.Desc, view)
				}
				for _, k := range b.Keys() {
					if other, ok := bound[k]; ok && other != h.Desc {
						t.Errorf("key %q is bound to both %q and %q", k, other, h.Desc)
					}
					bound[k] = h.Desc
				}
			}
		})
	}
	m := feed(testModel(Sending), events(progressEvents()...)...)
	m = feed(m, interruptMsg{})
	if want := "(" + newKeyMap().cancel.Help().Key + " again to quit now)"; !strings.Contains(m.View(), want) {
		t.Errorf("the cancelling view lacks %q:\n%s", want, m.View())
	}
}

// pressAll presses every key of b on a fresh model from start and checks
// the result: every alias does what the help says.
func pressAll(t *testing.T, b key.Binding, start func() model, check func(t *testing.T, before, after model, cmd tea.Cmd)) {
	t.Helper()
	if len(b.Keys()) == 0 {
		t.Fatalf("%q has no keys", b.Help().Key)
	}
	for _, k := range b.Keys() {
		t.Run(strings.ReplaceAll(k, " ", "space"), func(t *testing.T) {
			before := start()
			after, cmd := before.Update(keyMsg(t, k))
			check(t, before, after.(model), cmd)
		})
	}
}

// offerAt is the offer model with the list at offset and the highlight
// on button sel (-1 for the last).
func offerAt(clash bool, offset, sel int) func() model {
	return func() model {
		m := offerModel(clash)
		s := m.screen.(offerScreen)
		if offset < 0 {
			offset = s.list.maxOffset()
		}
		if sel < 0 {
			sel = len(s.buttons) - 1
		}
		s.list.offset, s.sel = offset, sel
		m.screen = s
		return m
	}
}

// TestOfferKeysDoWhatTheHelpSays presses every key of every binding of the
// offer screen, both questions.
func TestOfferKeysDoWhatTheHelpSays(t *testing.T) {
	for _, clash := range []bool{false, true} {
		m := offerModel(clash)
		s := m.screen.(offerScreen)
		k := s.keys
		height, maxOffset, last := s.list.height, s.list.maxOffset(), len(s.buttons)-1
		if height < 2 || maxOffset < 2*height {
			t.Fatalf("the list is too short to tell the scroll keys apart: height %d, last offset %d", height, maxOffset)
		}
		offset := func(want int) func(*testing.T, model, model, tea.Cmd) {
			return func(t *testing.T, _, after model, _ tea.Cmd) {
				if got := after.screen.(offerScreen).list.offset; got != want {
					t.Errorf("the list is at %d, want %d", got, want)
				}
			}
		}
		highlight := func(want int) func(*testing.T, model, model, tea.Cmd) {
			return func(t *testing.T, _, after model, _ tea.Cmd) {
				if got := after.screen.(offerScreen).sel; got != want {
					t.Errorf("the highlight is on %d, want %d", got, want)
				}
			}
		}
		answers := func(want button) func(*testing.T, model, model, tea.Cmd) {
			return func(t *testing.T, _, _ model, cmd tea.Cmd) {
				if cmd == nil {
					t.Fatal("no answer")
				}
				d, ok := cmd().(decisionMsg)
				if !ok || d.accept != want.accept || d.choice != want.choice {
					t.Errorf("answer %+v (%v), want %s", d, ok, want.label)
				}
			}
		}
		cases := []struct {
			b     key.Binding
			start func() model
			check func(*testing.T, model, model, tea.Cmd)
		}{
			{k.down, offerAt(clash, 0, 0), offset(1)},
			{k.pageDown, offerAt(clash, 0, 0), offset(height)},
			{k.end, offerAt(clash, 0, 0), offset(maxOffset)},
			{k.up, offerAt(clash, -1, 0), offset(maxOffset - 1)},
			{k.pageUp, offerAt(clash, -1, 0), offset(maxOffset - height)},
			{k.home, offerAt(clash, -1, 0), offset(0)},
			{k.left, offerAt(clash, 0, 1), highlight(0)},
			{k.right, offerAt(clash, 0, 0), highlight(1)},
			{k.next, offerAt(clash, 0, -1), highlight(0)},
			{k.prev, offerAt(clash, 0, 0), highlight(last)},
			{k.confirm, offerAt(clash, 0, 0), answers(s.buttons[0])},
			{k.offerCancel, offerAt(clash, 0, 0), func(t *testing.T, _, after model, _ tea.Cmd) {
				if !after.cancelling {
					t.Error("the transfer is not cancelling")
				}
			}},
		}
		for _, b := range s.buttons {
			cases = append(cases, struct {
				b     key.Binding
				start func() model
				check func(*testing.T, model, model, tea.Cmd)
			}{b.keys, offerAt(clash, 0, 0), answers(b)})
		}
		name := map[bool]string{false: "offer", true: "clash"}[clash]
		for _, c := range cases {
			t.Run(name+" "+c.b.Help().Key+" "+c.b.Help().Desc, func(t *testing.T) {
				pressAll(t, c.b, c.start, c.check)
			})
		}
	}
}

// TestCancelKeysDoWhatTheHelpSays: on the waiting and progress screens
// every key of the cancel binding cancels, and a second one quits.
func TestCancelKeysDoWhatTheHelpSays(t *testing.T) {
	screens := map[string]func() model{
		"waiting":  func() model { return feed(testModel(Sending), events(senderCode())...) },
		"progress": func() model { return feed(testModel(Sending), events(progressEvents()...)...) },
	}
	for name, start := range screens {
		t.Run(name, func(t *testing.T) {
			pressAll(t, newKeyMap().cancel, start, func(t *testing.T, _, after model, _ tea.Cmd) {
				if !after.cancelling {
					t.Fatal("the transfer is not cancelling")
				}
				again, _ := after.Update(keyMsg(t, "ctrl+c"))
				if !again.(model).quitting {
					t.Error("a second ctrl+c does not quit")
				}
			})
		})
	}
}

// TestPromptKeysDoWhatTheHelpSays presses every key of the code prompt's
// bindings.
func TestPromptKeysDoWhatTheHelpSays(t *testing.T) {
	typed := func(s string) promptModel {
		return promptKeys(newPromptModel(newStyles(lipgloss.NewRenderer(io.Discard)), completeWords), runes(s))
	}
	k := newKeyMap()
	cases := []struct {
		b     key.Binding
		check func(t *testing.T, m promptModel)
	}{
		{k.complete, func(t *testing.T, m promptModel) {
			if m.input.Value() != "7-guitarist-" {
				t.Errorf("7-guita completed to %q, want 7-guitarist-", m.input.Value())
			}
		}},
		{k.enter, func(t *testing.T, m promptModel) {
			if !m.entered || m.value != "7-guita" {
				t.Errorf("entered %v, %q", m.entered, m.value)
			}
		}},
		{k.promptCancel, func(t *testing.T, m promptModel) {
			if !m.cancelled {
				t.Error("not cancelled")
			}
		}},
	}
	for _, c := range cases {
		for _, name := range c.b.Keys() {
			t.Run(c.b.Help().Desc+" "+name, func(t *testing.T) {
				c.check(t, promptKeys(typed("7-guita"), keyMsg(t, name)))
			})
		}
	}
}

// The clash question's k keeps both files; there it does not scroll.
func TestClashKDoesNotScroll(t *testing.T) {
	m := offerAt(true, 3, 0)()
	next, cmd := m.Update(keyMsg(t, "k"))
	if got := next.(model).screen.(offerScreen).list.offset; got != 3 || cmd == nil {
		t.Fatalf("k scrolled to %d (answer %v)", got, cmd != nil)
	}
	if d := cmd().(decisionMsg); d.choice != transfer.ClashKeepBoth {
		t.Fatalf("k answered %+v", d)
	}
}
