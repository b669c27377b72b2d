package main

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"

	"github.com/spf13/cobra"

	"github.com/bob-p2p/bob/internal/codes"
	"github.com/bob-p2p/bob/relay/rendezvous"
	"github.com/bob-p2p/bob/transfer"
	"github.com/bob-p2p/bob/transfer/secure"
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
	fl.StringVar(&f.code, "code", "", "use this code (NAMEPLATE-secret) instead of a generated one")
	fl.StringVar(&f.text, "text", "", "send this text message instead of files")
	fl.StringVar(&f.name, "name", "", `with "-", the file name the receiver saves standard input under (default "stdin")`)
	fl.StringVar(&f.compress, "compress", "auto", "zstd compression: auto, on or off")
	fl.BoolVar(&f.qr, "qr", false, "also show the receive command as a QR code")
	f.output.register(fl)
	return cmd
}

func runSend(ctx context.Context, e *env, f sendFlags, args []string) error {
	opts := transfer.SendOptions{Compress: f.compress}
	switch f.compress {
	case "auto", "on", "off":
	default:
		return usageError{fmt.Errorf("--compress must be auto, on or off, not %q", f.compress)}
	}
	switch {
	case f.textSet && len(args) > 0:
		return usageError{fmt.Errorf("give either --text or paths to send, not both")}
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
	if f.code != "" {
		c, err := codes.ParseChosen(f.code)
		if err != nil {
			return usageError{err}
		}
		chosen = c
	}
	if err := transfer.CheckSources(opts); err != nil {
		return err
	}
	rc, err := chooseRelay(e, f.relay, f.relayPassword)
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

	dialAddrs, hints := rc.addrs, []string(nil)
	if rc.embedded {
		addr, relayDone, err := startEmbeddedRelay(ctx, f.listen)
		if err != nil {
			return err
		}
		defer func() { cancel(); <-relayDone }()
		var dial string
		dial, hints = embeddedAddrs(addr)
		dialAddrs = []string{dial}
	}

	var shownRelay atomic.Pointer[string]
	view := newView(e, viewConfig{
		mode: mode, role: tui.Sending, cancel: cancel, qr: f.qr, out: e.stdout,
		receiveCommand: func(code string) string { return receiveCommand(shownRelay.Load(), code) },
	})
	err = sendSession(ctx, rc, dialAddrs, hints, chosen, opts, view, &shownRelay)
	view.Close(err)
	return quiet(err, mode)
}

func sendSession(ctx context.Context, rc relayChoice, dialAddrs, hints []string, chosen codes.Code, opts transfer.SendOptions, view tui.View, shownRelay *atomic.Pointer[string]) error {
	view.Event(transfer.Connecting{Relay: strings.Join(dialAddrs, ", ")})
	conn, relayAddr, err := dialRelay(ctx, dialAddrs)
	if err != nil {
		return err
	}
	defer conn.Close()
	stopClose := closeOnCancel(ctx, conn)
	defer stopClose()

	nameplate, err := rendezvous.Open(ctx, conn, chosen.Nameplate, rc.password)
	if err != nil {
		return relayError(relayAddr, err)
	}
	code := chosen
	if code.Secret == "" {
		if code, err = codes.Generate(nameplate, nil); err != nil {
			return err
		}
	}
	shown := relayAddr
	switch {
	case rc.embedded:
		shown = strings.Join(hints, ",")
	case len(rc.addrs) == 1 && rc.addrs[0] == defaultRecvRelay:
		shown = "" // the receiver's default finds it
	}
	shownRelay.Store(&shown)
	view.Event(transfer.CodeReady{Code: code.String(), Relay: shown, Hints: hints})
	if err := rendezvous.WaitPaired(ctx, conn); err != nil {
		return relayError(relayAddr, err)
	}
	view.Event(transfer.Paired{})
	cfg := secure.Config{Code: code.String(), Nameplate: nameplate, Role: secure.Sender}
	return runSecured(ctx, conn, cfg, view, stopClose, func(ch *secure.Conn) error {
		return transfer.Send(ctx, ch, opts, view.Event)
	})
}

// receiveCommand is what the sender tells the person to run on the other machine.
func receiveCommand(relay *string, code string) string {
	if relay == nil || *relay == "" {
		return "bob recv " + code
	}
	return "bob recv --relay " + *relay + " " + code
}
