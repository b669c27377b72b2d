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
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	stopProfile := startProfile()
	code := run(ctx, os.Args[1:])
	stopProfile()
	stop()
	os.Exit(code)
}
