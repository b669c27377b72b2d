package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

	"github.com/spf13/cobra"

	"github.com/bob-p2p/bob/internal/codes"
	"github.com/bob-p2p/bob/internal/safeterm"
	"github.com/bob-p2p/bob/session"
	"github.com/bob-p2p/bob/transfer"
	"github.com/bob-p2p/bob/tui"
)

type recvFlags struct {
	relay, relayPassword string
	yes                  bool
	out                  string
	overwrite            bool
	toTerminal           bool
	output               outputFlags
	paths                pathFlags
}

func newRecvCmd(e *env) *cobra.Command {
	var f recvFlags
	cmd := &cobra.Command{
		Use:     "recv [flags] [CODE]",
		Aliases: []string{"receive"},
		Short:   "Receive what a sender offers under CODE",
		Long: `Receive files, folders, text or a stream. With no CODE, bob asks for it
(with tab completion of the words), so it never appears in the process list.
bob shows what the sender offers and asks before anything is written.`,
		Example: `  bob recv 7-guitarist-revenge
  bob recv --out ~/Downloads
  bob recv -o - 7-guitarist-revenge | tar x`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runRecv(cmd.Context(), e, f, args)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.relay, "relay", "", "relay HOST:PORT, or several separated by commas (default: $BOB_RELAY, the config file, else this machine's port 9009)")
	fl.StringVar(&f.relayPassword, "relay-password", "", "password of a private relay (or $BOB_RELAY_PASSWORD)")
	fl.BoolVarP(&f.yes, "yes", "y", false, "accept the offer without asking")
	fl.StringVarP(&f.out, "out", "o", ".", `folder to write into, or "-" for standard output (a single file, text or stream)`)
	fl.BoolVar(&f.overwrite, "overwrite", false, "replace files that already exist")
	fl.BoolVar(&f.toTerminal, "to-terminal", false, "with -o -, write the received data to standard output even when it is a terminal")
	f.output.register(fl)
	f.paths.register(fl)
	return cmd
}

func runRecv(ctx context.Context, e *env, f recvFlags, args []string) error {
	mode, err := f.output.mode()
	if err != nil {
		return err
	}
	toStdout := f.out == "-"
	if mode == modeJSON && !f.yes {
		return usageError{fmt.Errorf("--json needs --yes: there is no one to ask")}
	}
	if toStdout && isTerminal(e.stdout) && !f.toTerminal {
		// The peer's bytes would reach the terminal raw: escape sequences
		// and all.
		return usageError{fmt.Errorf("use -o - only with a pipe or a file (or --to-terminal to print the raw data here)")}
	}
	if toStdout {
		mode = dataOnStdoutMode(mode, e.stdout)
	}
	rc, err := chooseRelay(e, f.relay, f.relayPassword, f.paths)
	if err != nil {
		return err
	}

	var code codes.Code
	if len(args) == 1 {
		if code, err = codes.Parse(args[0]); err != nil {
			return usageError{err}
		}
	} else {
		if !isTerminal(e.stdin) {
			return usageError{fmt.Errorf("give the code: bob recv CODE (standard input is not a terminal to ask on)")}
		}
		// Before the person types anything, make sure the relay answers.
		if err := session.CheckRelays(ctx, rc.addrs); err != nil {
			return err
		}
		prompt := func() (string, error) { return tui.PromptCode(ctx, e.stdin, e.stderr, codes.Complete) }
		if code, err = askCode(prompt, e.stderr); err != nil {
			return err
		}
	}

	opts := transfer.ReceiveOptions{OutDir: f.out, Overwrite: f.overwrite}
	viewOut := e.stdout
	if toStdout {
		opts.OutDir = ""
		opts.Stdout = e.stdout
		viewOut = e.stderr
	} else if err := checkOutDir(f.out); err != nil {
		return err
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	view := newView(e, viewConfig{mode: mode, role: tui.Receiving, cancel: cancel, out: viewOut})
	if f.yes {
		opts.Accept = func(context.Context, transfer.OfferReceived) (bool, error) { return true, nil }
	} else {
		opts.Accept = view.Accept
		if isTerminal(e.stdin) {
			// Someone is there to choose: files that exist are marked in
			// the offer and the person picks overwrite, keep both, skip
			// or cancel. Otherwise they are refused before the offer is
			// shown, as before (issue 16, item 9).
			opts.Clash = view.ChooseClash
		}
	}
	cfg := rc.sessionConfig()
	cfg.Events = view.Event
	cfg.Logger = sessionLogger(e, mode)
	err = session.Receive(ctx, cfg, code, opts)
	view.Close(err)
	return quiet(err, mode)
}

// maxCodeTries bounds how often the prompt asks again after a mistyped code.
const maxCodeTries = 5

// askCode prompts until a well-formed code is typed, telling what was wrong
// with each other entry.
func askCode(prompt func() (string, error), warn io.Writer) (codes.Code, error) {
	var lastErr error
	for range maxCodeTries {
		raw, err := prompt()
		if err != nil {
			return codes.Code{}, err
		}
		code, err := codes.Parse(raw)
		if err == nil {
			return code, nil
		}
		lastErr = err
		fmt.Fprintf(warn, "%s; try again\n", safeterm.Escape(err.Error()))
	}
	return codes.Code{}, usageError{lastErr}
}

// checkOutDir fails early on an output folder that cannot work; a missing
// one is fine: it is created when the offer arrives, and removed again if
// the transfer ends with nothing written to it.
func checkOutDir(dir string) error {
	st, err := os.Stat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return fmt.Errorf("cannot receive into %s: %w", dir, err)
	}
	if !st.IsDir() {
		return fmt.Errorf("cannot receive into %s: it is not a folder", dir)
	}
	return nil
}
