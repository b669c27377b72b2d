//go:build !unix

package main

import "log/slog"

// toggleDebugOnSignal does nothing where there is no SIGUSR1; the metrics
// listener's /loglevel endpoint still changes the level.
func toggleDebugOnSignal(*slog.LevelVar, *slog.Logger) (stop func()) { return func() {} }
