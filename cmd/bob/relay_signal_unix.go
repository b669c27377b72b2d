//go:build unix

package main

import (
	"log/slog"
	"os"
	"os/signal"
	"syscall"
)

// toggleDebugOnSignal switches the log level between debug and the level it
// started at on each SIGUSR1, so an operator can catch a rare event live.
// The returned function stops it.
func toggleDebugOnSignal(level *slog.LevelVar, log *slog.Logger) (stop func()) {
	base := level.Level()
	if base == slog.LevelDebug {
		base = slog.LevelInfo
	}
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGUSR1)
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		for {
			select {
			case <-sigs:
				to := slog.LevelDebug
				if level.Level() == slog.LevelDebug {
					to = base
				}
				level.Set(to)
				log.Warn("log level changed by SIGUSR1", "to", to)
			case <-done:
				return
			}
		}
	}()
	return func() {
		signal.Stop(sigs)
		close(done)
		<-finished
	}
}
