package main

import (
	"context"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/bob-p2p/bob/relay/appliance"
)

// runAppliance runs bob as PID 1 of the relay appliance image (see
// relay/image): it brings the machine up, runs `bob relay` with the flags
// from the kernel command line, and powers off when the relay ends. Anywhere
// else it reports handled=false and bob runs as a normal command.
func runAppliance() (exitCode int, handled bool) {
	if !appliance.IsInit() {
		return 0, false
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	// Ctrl-Alt-Del reaches PID 1 as SIGINT once Boot has asked for it,
	// and the ACPI power button cancels ctx: either stops the relay
	// gracefully, and the machine then powers off.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	code := exitFailure
	cfg, err := appliance.Boot(ctx, log)
	if err != nil {
		log.Error("appliance boot failed", "err", err)
	} else {
		if err := appliance.WatchPowerButton(ctx, log, cancel); err != nil {
			log.Warn("the power button will not shut the relay down", "err", err)
		}
		args := append([]string{"relay"}, cfg.RelayArgs...)
		log.Info("starting relay", "args", args[1:])
		code = run(ctx, args)
		log.Info("relay ended", "exit_code", code)
	}
	appliance.PowerOff(log)
	return code, true
}
