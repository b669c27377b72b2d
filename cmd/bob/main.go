// Command bob sends files between two machines that share a short code.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	if code, handled := runAppliance(); handled {
		os.Exit(code)
	}
	args := cloneArgs(os.Args[1:])
	scrubArgs(os.Args[1:]) // the code's words out of other users' process lists
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	stopProfile := startProfile()
	code := run(ctx, args)
	stopProfile()
	stop()
	os.Exit(code)
}
