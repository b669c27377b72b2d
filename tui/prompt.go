package tui

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/bob-p2p/bob/internal/safeterm"
	"github.com/charmbracelet/bubbles/cursor"
	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/textinput"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
)

// codeWords is how many secret words follow the nameplate in a code; tab
// completion adds the dash after all but the last.
const codeWords = 2

// maxCandidates is how many completions the prompt lists under the input.
const maxCandidates = 8

// PromptCode asks for the code with a text input, so it never has to appear
// in the process list. Tab completes the word being typed with complete
// (which gets only that word's prefix, as codes.Complete takes it); enter returns the code as typed, trimmed.
// Ctrl-C or esc returns ErrCancelled; the end of ctx returns ctx.Err().
func PromptCode(ctx context.Context, in io.Reader, out io.Writer, complete func(prefix string) []string) (string, error) {
	if in == nil {
		return "", errors.New("no keyboard to type the code on: give the code as an argument")
	}
	m := newPromptModel(newStyles(lipgloss.NewRenderer(out)), complete)
	p := tea.NewProgram(m, tea.WithInput(in), tea.WithOutput(out), tea.WithContext(ctx))
	final, err := p.Run()
	if ctx.Err() != nil {
		return "", ctx.Err()
	}
	if errors.Is(err, tea.ErrInterrupted) {
		return "", ErrCancelled
	}
	if err != nil {
		return "", fmt.Errorf("could not read the code from the terminal: %w", err)
	}
	fm, ok := final.(promptModel)
	if !ok || !fm.entered {
		return "", ErrCancelled
	}
	return fm.value, nil
}

// promptModel is the code prompt: a text input, tab completion of the word
// under the cursor, and the candidates when a prefix is ambiguous.
type promptModel struct {
	st         styles
	keys       keyMap
	input      textinput.Model
	complete   func(string) []string
	candidates []string
	hint       string
	entered    bool
	cancelled  bool
	value      string
}

func newPromptModel(st styles, complete func(string) []string) promptModel {
	in := textinput.New()
	in.Prompt = "code: "
	in.PromptStyle = st.prompt
	in.Placeholder = "7-guitarist-revenge"
	in.PlaceholderStyle = st.dim
	in.CompletionStyle = st.dim
	in.CharLimit = 200
	in.Cursor.SetMode(cursor.CursorStatic)
	in.KeyMap.AcceptSuggestion.SetEnabled(false) // tab is ours
	in.Focus()
	return promptModel{st: st, keys: newKeyMap(), input: in, complete: complete}
}

func (m promptModel) Init() tea.Cmd { return nil }

func (m promptModel) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	if m.entered || m.cancelled {
		return m, nil
	}
	k, ok := msg.(tea.KeyMsg)
	if !ok {
		var cmd tea.Cmd
		m.input, cmd = m.input.Update(msg)
		return m, cmd
	}
	switch {
	case key.Matches(k, m.keys.promptCancel):
		m.cancelled = true
		return m, tea.Quit
	case key.Matches(k, m.keys.enter):
		v := strings.TrimSpace(m.input.Value())
		if v == "" {
			m.hint = "type the code the sender sees, like 7-guitarist-revenge"
			return m, nil
		}
		m.value = v
		m.entered = true
		return m, tea.Quit
	case key.Matches(k, m.keys.complete):
		return m.completeWord(), nil
	}
	m.hint = ""
	m.candidates = nil
	var cmd tea.Cmd
	m.input, cmd = m.input.Update(msg)
	return m, cmd
}

// completeWord completes the word that ends at the cursor: to the only
// candidate (plus a dash if more words follow), or to the candidates'
// common prefix, listing them.
func (m promptModel) completeWord() promptModel {
	m.candidates = nil
	if m.complete == nil {
		return m
	}
	value := []rune(m.input.Value())
	pos := m.input.Position()
	before, after := string(value[:pos]), string(value[pos:])
	start := strings.LastIndexAny(before, "- ") + 1
	prefix := before[start:]
	if prefix == "" || isDigits(prefix) {
		return m
	}
	var words []string
	for _, w := range m.complete(strings.ToLower(prefix)) {
		if strings.HasPrefix(w, strings.ToLower(prefix)) && !slices.Contains(words, w) {
			words = append(words, w)
		}
	}
	switch len(words) {
	case 0:
		m.hint = "no word starts with " + safeterm.Escape(prefix)
		return m
	case 1:
		word := words[0]
		if after == "" && wordsNeededAfter(before[:start]) > 0 {
			word += "-"
		}
		m.input.SetValue(before[:start] + word + after)
		m.input.SetCursor(len([]rune(before[:start] + word)))
		return m
	}
	common := commonPrefix(words)
	m.input.SetValue(before[:start] + common + after)
	m.input.SetCursor(len([]rune(before[:start] + common)))
	m.candidates = words
	return m
}

// wordsNeededAfter says how many words a code still needs after the word
// being completed, given what comes before it ("7-" needs one more).
func wordsNeededAfter(before string) int {
	parts := strings.FieldsFunc(before, func(r rune) bool { return r == '-' || r == ' ' })
	if len(parts) == 0 || !isDigits(parts[0]) {
		return 0
	}
	return codeWords - len(parts)
}

func isDigits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != ""
}

func commonPrefix(words []string) string {
	p := words[0]
	for _, w := range words[1:] {
		for !strings.HasPrefix(w, p) {
			_, n := utf8.DecodeLastRuneInString(p)
			p = p[:len(p)-n]
		}
	}
	return p
}

func (m promptModel) View() string {
	if m.entered || m.cancelled {
		return "" // do not leave the code on the screen
	}
	help := m.st.dim.Render("Type the code from the sender (") + m.st.helpLine(0, ", ", m.keys.promptKeys()...) + m.st.dim.Render(")")
	lines := []string{help, m.input.View()}
	if len(m.candidates) > 0 {
		shown := m.candidates
		more := ""
		if len(shown) > maxCandidates {
			more = fmt.Sprintf(" …and %d more", len(shown)-maxCandidates)
			shown = shown[:maxCandidates]
		}
		escaped := make([]string, len(shown))
		for i, c := range shown {
			escaped[i] = safeterm.Escape(c)
		}
		lines = append(lines, m.st.candidate.Render(strings.Join(escaped, "  ")+more))
	}
	if m.hint != "" {
		lines = append(lines, m.st.warn.Render(m.hint))
	}
	return strings.Join(lines, "\n") + "\n"
}
