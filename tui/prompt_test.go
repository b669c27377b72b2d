package tui

import (
	"context"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bob-p2p/bob/internal/codes"
	"github.com/charmbracelet/lipgloss"
	"go.uber.org/goleak"

	tea "github.com/charmbracelet/bubbletea"
)

var testWords = []string{"gulf", "guitarist", "gulp", "revenge", "reverse", "zebra"}

func completeWords(prefix string) []string {
	var out []string
	for _, w := range testWords {
		if strings.HasPrefix(w, prefix) {
			out = append(out, w)
		}
	}
	return out
}

// typeCode runs PromptCode with keys written to its input as a terminal
// would send them.
func typeCode(t *testing.T, ctx context.Context, keys ...string) (string, error) {
	t.Helper()
	return typeCodeWith(t, ctx, completeWords, keys...)
}

// typeCodeWith is typeCode with the given completer.
func typeCodeWith(t *testing.T, ctx context.Context, complete func(string) []string, keys ...string) (string, error) {
	t.Helper()
	pr, pw := io.Pipe()
	defer pw.Close()
	out := &syncBuffer{}
	type result struct {
		code string
		err  error
	}
	res := make(chan result, 1)
	go func() {
		code, err := PromptCode(ctx, pr, out, complete)
		res <- result{code, err}
	}()
	waitFor(t, out, "code: ")
	for _, k := range keys {
		if _, err := pw.Write([]byte(k)); err != nil {
			break // the prompt ended and stopped reading
		}
	}
	select {
	case r := <-res:
		return r.code, r.err
	case <-time.After(10 * time.Second):
		t.Fatalf("PromptCode did not return; screen:\n%s", out.String())
		return "", nil
	}
}

func TestPromptCodeCompletes(t *testing.T) {
	defer goleak.VerifyNone(t, teatestSignalWatcher)
	code, err := typeCode(t, context.Background(), "gui", "\t", "\r")
	if err != nil || code != "guitarist" {
		t.Fatalf("gui<TAB><ENTER> = %q, %v; want guitarist", code, err)
	}
	code, err = typeCode(t, context.Background(), "7-gui", "\t", "reven", "\t", "\r")
	if err != nil || code != "7-guitarist-revenge" {
		t.Fatalf("7-gui<TAB>reven<TAB><ENTER> = %q, %v; want 7-guitarist-revenge", code, err)
	}
	code, err = typeCode(t, context.Background(), "  7-guitarist-revenge ", "\r")
	if err != nil || code != "7-guitarist-revenge" {
		t.Fatalf("typed code = %q, %v; want it trimmed", code, err)
	}
}

// TestPromptRealCompleter uses the completer bob recv passes, not a
// stand-in: the prompt gives it the word under the cursor, not the code.
func TestPromptRealCompleter(t *testing.T) {
	defer goleak.VerifyNone(t, teatestSignalWatcher)
	code, err := typeCodeWith(t, context.Background(), codes.Complete, "1-marat", "\t", "revenu", "\t", "\r")
	if err != nil || code != "1-marathon-revenue" {
		t.Fatalf("1-marat<TAB>revenu<TAB><ENTER> = %q, %v; want 1-marathon-revenue", code, err)
	}

	m := newPromptModel(newStyles(lipgloss.NewRenderer(io.Discard)), codes.Complete)
	m = promptKeys(m, runes("1-marb"), tab)
	if m.input.Value() != "1-marbl" || !slices.Equal(m.candidates, []string{"marbled", "marbles", "marbling"}) {
		t.Fatalf("1-marb<TAB> = %q, candidates %q; want 1-marbl and the three marbl… words\n%s", m.input.Value(), m.candidates, m.View())
	}
	for _, typed := range []string{"1-mar", "1-s", "1 S"} {
		m = newPromptModel(newStyles(lipgloss.NewRenderer(io.Discard)), codes.Complete)
		m = promptKeys(m, runes(typed), tab)
		if len(m.candidates) < 2 || strings.Contains(m.View(), "no word starts") {
			t.Errorf("%s<TAB> found no word:\n%s", typed, m.View())
		}
	}
	m = newPromptModel(newStyles(lipgloss.NewRenderer(io.Discard)), codes.Complete)
	m = promptKeys(m, runes("1-marathon-xq"), tab)
	if !strings.Contains(m.View(), "no word starts with xq") {
		t.Errorf("an unknown prefix did not say so:\n%s", m.View())
	}
}

func TestPromptCodeCancel(t *testing.T) {
	defer goleak.VerifyNone(t, teatestSignalWatcher)
	for _, key := range []string{"\x03", "\x1b"} {
		code, err := typeCode(t, context.Background(), "7-gui", key)
		if code != "" || !errors.Is(err, ErrCancelled) || !errors.Is(err, context.Canceled) {
			t.Fatalf("%q = %q, %v; want ErrCancelled", key, code, err)
		}
	}
}

func TestPromptCodeContext(t *testing.T) {
	defer goleak.VerifyNone(t, teatestSignalWatcher)
	pr, pw := io.Pipe()
	defer pw.Close()
	out := &syncBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	res := make(chan error, 1)
	go func() {
		_, err := PromptCode(ctx, pr, out, completeWords)
		res <- err
	}()
	waitFor(t, out, "code: ")
	pw.Write([]byte("7-gui"))
	cancel()
	if err := <-res; !errors.Is(err, context.Canceled) {
		t.Fatalf("after the context ended: %v", err)
	}
	if _, err := PromptCode(context.Background(), nil, io.Discard, completeWords); err == nil {
		t.Fatal("PromptCode without a keyboard did not fail")
	}
}

// promptKeys feeds keys to the prompt model directly.
func promptKeys(m promptModel, keys ...tea.KeyMsg) promptModel {
	for _, k := range keys {
		next, _ := m.Update(k)
		m = next.(promptModel)
	}
	return m
}

func runes(s string) tea.KeyMsg { return tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(s)} }

var tab = tea.KeyMsg{Type: tea.KeyTab}

func TestPromptAmbiguous(t *testing.T) {
	m := newPromptModel(newStyles(lipgloss.NewRenderer(io.Discard)), completeWords)
	m = promptKeys(m, runes("7-g"), tab)
	if m.input.Value() != "7-gu" {
		t.Fatalf("7-g<TAB> = %q, want the common prefix 7-gu", m.input.Value())
	}
	view := m.View()
	for _, w := range []string{"gulf", "guitarist", "gulp"} {
		if !strings.Contains(view, w) {
			t.Errorf("candidate %q not listed:\n%s", w, view)
		}
	}
	m = promptKeys(m, runes("ita"), tab)
	if m.input.Value() != "7-guitarist-" || m.candidates != nil {
		t.Fatalf("7-guita<TAB> = %q (candidates %v), want 7-guitarist-", m.input.Value(), m.candidates)
	}
	m = promptKeys(m, runes("x"), tab)
	if m.input.Value() != "7-guitarist-x" || !strings.Contains(m.View(), "no word starts with x") {
		t.Fatalf("no match: %q\n%s", m.input.Value(), m.View())
	}
	// The nameplate is not completed; an empty enter asks again.
	m = newPromptModel(newStyles(lipgloss.NewRenderer(io.Discard)), completeWords)
	m = promptKeys(m, runes("7"), tab)
	if m.input.Value() != "7" {
		t.Fatalf("7<TAB> = %q", m.input.Value())
	}
	m = newPromptModel(newStyles(lipgloss.NewRenderer(io.Discard)), completeWords)
	m = promptKeys(m, tea.KeyMsg{Type: tea.KeyEnter})
	if m.entered || !strings.Contains(m.View(), "type the code") {
		t.Fatalf("an empty code was taken:\n%s", m.View())
	}
}

func TestPromptHostileCompletion(t *testing.T) {
	m := newPromptModel(newStyles(lipgloss.NewRenderer(io.Discard)), func(string) []string {
		return []string{"gu\x1b]0;pwned\x07a", "gu\x1b[2Jb"}
	})
	m = promptKeys(m, runes("gu"), tab)
	if strings.ContainsAny(m.View(), "\x1b\x07") {
		t.Fatalf("a candidate reached the prompt raw: %q", m.View())
	}
}
