package tui

import "github.com/charmbracelet/lipgloss"

// Colours. Plain ANSI-256 numbers, not adaptive colours: adaptive colours
// make lipgloss query the terminal's background, which would read from the
// keyboard the program is using.
const (
	colorAccent  = lipgloss.Color("212")
	colorCode    = lipgloss.Color("86")
	colorDim     = lipgloss.Color("245")
	colorOK      = lipgloss.Color("78")
	colorError   = lipgloss.Color("203")
	colorWarn    = lipgloss.Color("214")
	colorBarFull = "#5A56E0"
	colorBarEnd  = "#EE6FF8"
)

// styles holds every lipgloss style of the TUI, made for one renderer so
// that the colour profile follows the output the view draws on.
type styles struct {
	app       lipgloss.Style // margin around every screen
	title     lipgloss.Style
	code      lipgloss.Style // the code, large
	codeBox   lipgloss.Style
	command   lipgloss.Style
	label     lipgloss.Style
	dim       lipgloss.Style
	ok        lipgloss.Style
	err       lipgloss.Style
	warn      lipgloss.Style
	spinner   lipgloss.Style
	key       lipgloss.Style // a key in the help line
	button    lipgloss.Style
	selected  lipgloss.Style // the highlighted button
	listBox   lipgloss.Style
	prompt    lipgloss.Style // PromptCode's prompt
	candidate lipgloss.Style // completion candidates
}

func newStyles(r *lipgloss.Renderer) styles {
	s := styles{}
	s.app = r.NewStyle().Padding(1, 2, 0, 2)
	s.title = r.NewStyle().Bold(true).Foreground(colorAccent)
	s.code = r.NewStyle().Bold(true).Foreground(colorCode)
	s.codeBox = r.NewStyle().Border(lipgloss.RoundedBorder()).BorderForeground(colorAccent).Padding(1, 4)
	s.command = r.NewStyle().Bold(true)
	s.label = r.NewStyle().Foreground(colorDim)
	s.dim = r.NewStyle().Foreground(colorDim)
	s.ok = r.NewStyle().Bold(true).Foreground(colorOK)
	s.err = r.NewStyle().Bold(true).Foreground(colorError)
	s.warn = r.NewStyle().Foreground(colorWarn)
	s.spinner = r.NewStyle().Foreground(colorAccent)
	s.key = r.NewStyle().Bold(true)
	s.button = r.NewStyle().Padding(0, 2).Border(lipgloss.NormalBorder()).BorderForeground(colorDim)
	s.selected = s.button.Bold(true).Foreground(colorAccent).BorderForeground(colorAccent).Border(lipgloss.ThickBorder())
	s.listBox = r.NewStyle().Border(lipgloss.NormalBorder(), false, false, false, true).BorderForeground(colorDim).PaddingLeft(1)
	s.prompt = r.NewStyle().Bold(true).Foreground(colorAccent)
	s.candidate = r.NewStyle().Foreground(colorDim)
	return s
}
