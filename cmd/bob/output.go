package main

import (
	"io"
	"log/slog"
	"os"

	"github.com/spf13/pflag"
	"golang.org/x/term"

	"github.com/bob-p2p/bob/tui"
)

type outputMode int

const (
	modeAuto outputMode = iota
	modeTUI
	modePlain
	modeJSON
)

type outputFlags struct{ plain, json bool }

func (o *outputFlags) register(fl *pflag.FlagSet) {
	fl.BoolVar(&o.plain, "plain", false, "plain lines, no colours or animation (default when not on a terminal)")
	fl.BoolVar(&o.json, "json", false, "one JSON object per line for each event, for scripts")
}

func (o outputFlags) mode() (outputMode, error) {
	switch {
	case o.plain && o.json:
		return 0, usageError{errorf("choose one of --plain and --json")}
	case o.json:
		return modeJSON, nil
	case o.plain:
		return modePlain, nil
	}
	return modeAuto, nil
}

func isTerminal(v any) bool {
	f, ok := v.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// dataOnStdoutMode is the output mode when standard output carries the
// received data (-o -). The view is on standard error then, and when the
// data goes into a pipe its reader may print on the same terminal (tar xv
// lists each file): a view that redraws by moving up over the lines it
// drew would overwrite those, so the choice is plain lines, which only
// ever add lines, as pv's and tar's messages do (issue 16 item 4). Data
// going to a regular file leaves the terminal to bob: the terminal view
// stays.
func dataOnStdoutMode(mode outputMode, stdout any) outputMode {
	if mode == modeAuto && !isRegularFile(stdout) {
		return modePlain
	}
	return mode
}

func isRegularFile(v any) bool {
	f, ok := v.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode().IsRegular()
}

type viewConfig struct {
	mode           outputMode
	role           tui.Role
	cancel         func()
	qr             bool
	out            io.Writer
	receiveCommand func(code string) string
}

// newView picks the terminal UI when both the keyboard and the screen are a
// terminal, plain lines otherwise, JSON when asked.
func newView(e *env, c viewConfig) tui.View {
	opts := tui.Options{
		Role:           c.role,
		In:             e.stdin,
		Out:            c.out,
		ErrOut:         e.stderr,
		Cancel:         c.cancel,
		QR:             c.qr,
		ReceiveCommand: c.receiveCommand,
		Describe:       describe,
		ErrorCode:      errorName,
	}
	mode := c.mode
	if mode == modeAuto {
		mode = modePlain
		if isTerminal(c.out) && isTerminal(e.stdin) {
			mode = modeTUI
		}
	}
	switch mode {
	case modeJSON:
		return tui.NewJSON(c.out, opts)
	case modeTUI:
		return tui.NewTUI(opts)
	}
	return tui.NewPlain(opts)
}

// sessionLogger is where a session's warnings go (a stranger turned away,
// no announcement): standard error in plain and JSON modes; the TUI owns the
// terminal, so there they are dropped.
func sessionLogger(e *env, mode outputMode) *slog.Logger {
	if mode == modeTUI || (mode == modeAuto && isTerminal(e.stderr) && isTerminal(e.stdin)) {
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
}
