package main

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"

	"github.com/spf13/cobra"

	"github.com/bob-p2p/bob/internal/codes"
	"github.com/bob-p2p/bob/session"
	"github.com/bob-p2p/bob/transfer"
	"github.com/bob-p2p/bob/tui"
)

type sendFlags struct {
	relay, relayPassword string
	listen               string
	code                 string
	text                 string
	textSet              bool
	name                 string // the stream's name, with "-"
	compress             string
	qr                   bool
	output               outputFlags
	paths                pathFlags
}

func newSendCmd(e *env) *cobra.Command {
	var f sendFlags
	cmd := &cobra.Command{
		Use:   "send [flags] PATH...",
		Short: "Send files, folders, text or stdin; prints the code to give the receiver",
		Long: `Send files and folders (many at once), a text message (--text) or standard
input (PATH "-"). bob prints a code and the command to run on the other
machine, waits for the receiver, and exits 0 only after the receiver confirmed
that everything arrived intact.`,
		Example: `  bob send photo.jpg
  bob send --text "the wifi password is hunter2"
  tar c dir | bob send -
  tar c dir | bob send --name dir.tar -`,
		RunE: func(cmd *cobra.Command, args []string) error {
			f.textSet = cmd.Flags().Changed("text")
			return runSend(cmd.Context(), e, f, args)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.relay, "relay", "", "relay HOST:PORT, or several separated by commas (default: $BOB_RELAY, the config file, else a relay built into this bob)")
	fl.StringVar(&f.listen, "listen", "", "where the built-in relay listens: HOST or HOST:PORT (default: all interfaces, port 9009 or the next free one)")
	fl.StringVar(&f.relayPassword, "relay-password", "", "password of a private relay (or $BOB_RELAY_PASSWORD)")
	fl.StringVar(&f.code, "code", "", "use this code (NAMEPLATE-secret) instead of a generated one; other users of this machine can read it in the process list: prefer $BOB_CODE")
	fl.StringVar(&f.text, "text", "", "send this text message instead of files")
	fl.StringVar(&f.name, "name", "", `with "-", the file name the receiver saves standard input under (default "stdin")`)
	fl.StringVar(&f.compress, "compress", "auto", "zstd compression: auto, on or off")
	fl.BoolVar(&f.qr, "qr", false, "also show the receive command as a QR code")
	f.output.register(fl)
	f.paths.register(fl)
	return cmd
}

func runSend(ctx context.Context, e *env, f sendFlags, args []string) error {
	compress, err := transfer.ParseCompression(f.compress)
	if err != nil {
		return usageError{fmt.Errorf("--compress must be auto, on or off, not \"%s\"", f.compress)}
	}
	opts := transfer.SendOptions{Compress: compress}
	switch {
	case f.textSet && len(args) > 0:
		return usageError{fmt.Errorf("give either --text or paths to send, not both")}
	case f.textSet && f.text == "":
		return usageError{fmt.Errorf("the text to send is empty: give --text a message")}
	case f.textSet:
		opts.Text, opts.IsText = f.text, true
	case len(args) == 1 && args[0] == "-":
		opts.Stdin, opts.StreamName = e.stdin, f.name
	case len(args) == 0:
		return usageError{fmt.Errorf("say what to send: bob send PATH..., bob send --text MESSAGE, or bob send - for standard input")}
	default:
		for _, a := range args {
			if a == "-" {
				return usageError{fmt.Errorf(`"-" (standard input) must be the only thing sent`)}
			}
		}
		opts.Paths = args
	}
	if f.name != "" && opts.Stdin == nil {
		return usageError{fmt.Errorf(`--name names standard input: use it with "-"`)}
	}
	var chosen codes.Code
	if f.code == "" {
		f.code = e.getenv("BOB_CODE")
	}
	if f.code != "" {
		c, err := codes.ParseChosen(f.code)
		if err != nil {
			return usageError{err}
		}
		chosen = c
	}
	opts, err = transfer.CheckSources(opts)
	if err != nil {
		return err
	}
	rc, err := chooseRelay(e, f.relay, f.relayPassword, f.paths)
	if err != nil {
		return err
	}
	if f.listen != "" && !rc.embedded {
		return usageError{fmt.Errorf("--listen is for the relay built into bob send, but a relay is configured (%s)", strings.Join(rc.addrs, ", "))}
	}
	mode, err := f.output.mode()
	if err != nil {
		return err
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var shownRelay atomic.Pointer[string]
	view := newView(e, viewConfig{
		mode: mode, role: tui.Sending, cancel: cancel, qr: f.qr, out: e.stdout,
		receiveCommand: func(string) string { return receiveCommand(shownRelay.Load()) },
	})
	cfg := rc.sessionConfig()
	cfg.Listen = f.listen
	cfg.Logger = sessionLogger(e, mode)
	cfg.Events = func(ev transfer.Event) {
		if c, ok := ev.(transfer.CodeReady); ok {
			shownRelay.Store(&c.Relay)
		}
		view.Event(ev)
	}
	err = session.Send(ctx, cfg, chosen, opts)
	view.Close(err)
	return quiet(err, mode)
}

// receiveCommand is what the sender tells the person to run on the other
// machine: short, one line, safe to paste into any shell, and without the
// code, which is typed at bob recv's prompt so that it never shows in the
// other machine's process list.
func receiveCommand(relay *string) string {
	if relay == nil || *relay == "" {
		return "bob recv"
	}
	return "bob recv --relay " + shellQuote(*relay)
}

// shellQuote quotes s for POSIX shells when it holds anything but plain
// address characters: an IPv6 literal's brackets are a glob pattern.
func shellQuote(s string) string {
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune(".:-_,", r)) {
			return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
		}
	}
	return s
}
