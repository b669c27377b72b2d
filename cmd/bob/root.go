package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// Exit codes, documented in README.
const (
	exitOK            = 0
	exitFailure       = 1
	exitUsage         = 2
	exitWrongCode     = 3
	exitDeclined      = 4
	exitPeerCancelled = 5
	exitCancelled     = 130
)

// usageError marks a mistake in how bob was called (exit code 2).
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// env is what a command needs from the outside world; tests replace it.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
}

func run(ctx context.Context, args []string) int {
	e := &env{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv}
	root := newRootCmd(e)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	var jsonOut io.Writer
	if wantsJSON(args) {
		jsonOut = e.stdout
	}
	return reportError(e.stderr, jsonOut, err)
}

func newRootCmd(e *env) *cobra.Command {
	root := &cobra.Command{
		Use:           "bob",
		Short:         "Send files between two machines that share a short code",
		Version:       version(),
		SilenceUsage:  true,
		SilenceErrors: true,
		// A root that runs makes cobra hand an unknown command here,
		// where it is a usage error (exit 2), not a failure.
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usageError{fmt.Errorf("unknown command \"%s\": run bob --help for the commands", args[0])}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	root.SetVersionTemplate("bob {{.Version}}\n")
	root.SetIn(e.stdin)
	root.SetOut(e.stdout)
	root.SetErr(e.stderr)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	root.AddCommand(newSendCmd(e), newRecvCmd(e), newRelayCmd(e), newVersionCmd(e))
	for _, c := range root.Commands() {
		if c.Args != nil {
			c.Args = usageArgs(c.Args)
		}
	}
	return root
}

func newVersionCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print bob's version",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			fmt.Fprintln(e.stdout, "bob", version())
			return nil
		},
	}
}

func version() string {
	info, ok := debug.ReadBuildInfo()
	if !ok || info.Main.Version == "" || info.Main.Version == "(devel)" {
		return "dev"
	}
	return info.Main.Version
}

// usageArgs makes an argument check's complaint a usage error (exit 2).
func usageArgs(check cobra.PositionalArgs) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if err := check(cmd, args); err != nil {
			return usageError{fmt.Errorf("%w (see bob %s --help)", err, cmd.Name())}
		}
		return nil
	}
}
