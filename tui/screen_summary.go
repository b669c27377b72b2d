package tui

import (
	"fmt"
	"strings"

	"github.com/bob-p2p/bob/internal/safeterm"
	"github.com/bob-p2p/bob/transfer"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
)

// maxShown is how many entries the summary lists under a warning (files
// left out, files changed while sent).
const maxShown = 5

// summary is what the last screen reports.
type summary struct {
	role    Role
	done    *transfer.Done
	offer   *transfer.OfferReceived
	texts   []string // raw, from the peer
	skipped []string // escaped lines
	changed []string // escaped lines
	resumes []string // escaped resumeLine lines
	err     string   // escaped, one sentence; "" on success
}

// summaryScreen is the last thing drawn, left in the terminal after the
// program ends: what moved, how fast, through what and where it went, or
// the error.
type summaryScreen struct {
	cfg   *config
	width int
	sum   summary
}

func newSummaryScreen(cfg *config, sum summary, width int) summaryScreen {
	return summaryScreen{cfg: cfg, width: width, sum: sum}
}

func (s summaryScreen) Init() tea.Cmd { return nil }

func (s summaryScreen) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	if ws, ok := msg.(tea.WindowSizeMsg); ok {
		s.width = ws.Width
	}
	return s, nil
}

func (s summaryScreen) View() string {
	st := s.cfg.st
	cw := contentWidth(s.width)
	if s.sum.err != "" {
		return lipgloss.JoinHorizontal(lipgloss.Top, st.err.Render("✗ "), st.err.Width(cw-2).Render(s.sum.err))
	}
	var lines []string
	verb := "Sent"
	if s.sum.role == Receiving {
		verb = "Received"
	}
	d := s.sum.done
	switch {
	case d == nil:
		lines = append(lines, st.ok.Render("✓")+" Done.")
	case s.sum.offer != nil && s.sum.offer.IsText:
		lines = append(lines, st.ok.Render("✓")+fmt.Sprintf(" %s a text message", verb))
	default:
		what := plural(d.Files, "file", "files")
		if s.sum.offer != nil && s.sum.offer.IsStream { // its one entry is no file to the person
			what = "a stream"
		}
		line := fmt.Sprintf(" %s %s (%s) in %s", verb, what, size(d.Bytes), formatElapsed(d.Elapsed))
		if moved := d.Bytes - d.Resumed; moved > 0 { // resumed bytes did not cross
			line += " · " + rate(averageRate(moved, d.Elapsed)) + " average"
		}
		lines = append(lines, st.ok.Render("✓")+line)
	}
	if d != nil {
		var how []string
		if via := viaText(d.Via, d.Relay); via != "" {
			how = append(how, via)
		}
		if saving, ok := compressionSaving(d.Bytes-d.Resumed, d.WireBytes); ok {
			how = append(how, fmt.Sprintf("compression saved %.0f%%", saving*100))
		}
		if d.Resumed > 0 {
			how = append(how, size(d.Resumed)+" resumed")
		}
		if len(how) > 0 {
			lines = append(lines, "  "+st.dim.Render(strings.Join(how, " · ")))
		}
		if s.sum.role == Receiving && d.OutDir != "" {
			lines = append(lines, "  "+st.label.Render("saved in ")+safeterm.Escape(d.OutDir))
		}
	}
	lines = appendList(lines, st, list{heading: "From an earlier transfer:", head: st.label, show: maxShown}, s.sum.resumes)
	lines = appendList(lines, st, list{heading: skippedNote(len(s.sum.skipped)) + ":", head: st.warn, show: maxShown}, s.sum.skipped)
	lines = appendList(lines, st, list{heading: changedNote(len(s.sum.changed)), head: st.warn, show: maxShown}, s.sum.changed)
	for _, t := range s.sum.texts {
		lines = append(lines, "", st.label.Render("Message:"), st.listBox.Width(cw-st.listBox.GetHorizontalBorderSize()).Render(escapeLines(t)))
	}
	return strings.Join(lines, "\n")
}

// list is a list of escaped lines under a heading, of which the first
// show are listed and the rest counted.
type list struct {
	heading string         // "" for none: the items are not indented
	head    lipgloss.Style // the heading's style
	dim     bool           // the items are dim too
	show    int
}

// appendList adds l's heading and the first l.show of items below it, if
// there are any.
func appendList(lines []string, st styles, l list, items []string) []string {
	n := len(items)
	if n == 0 {
		return lines
	}
	indent := ""
	if l.heading != "" {
		lines = append(lines, "", l.head.Render(l.heading))
		indent = "  "
	}
	for _, it := range items[:min(n, l.show)] {
		if l.dim {
			it = st.dim.Render(it)
		}
		lines = append(lines, indent+it)
	}
	if n > l.show {
		lines = append(lines, st.dim.Render(fmt.Sprintf("%s…and %d more", indent, n-l.show)))
	}
	return lines
}

// escapeLines escapes a peer's multi-line text line by line, so that its
// line breaks show as breaks but nothing else reaches the terminal raw.
func escapeLines(text string) string {
	lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	for i, l := range lines {
		lines[i] = safeterm.Escape(l)
	}
	return strings.Join(lines, "\n")
}
