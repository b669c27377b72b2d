package appliance

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
)

// WatchPowerButton calls stop once when the machine's ACPI power button is
// pressed: what a hypervisor sends for a graceful shutdown (qemu's
// system_powerdown, virsh shutdown, a cloud's "stop"). It needs the button
// and evdev modules. It returns an error if there is no power button; the
// watch ends with ctx.
func WatchPowerButton(ctx context.Context, log *slog.Logger, stop func()) error {
	dev, err := findInputDevice("Power Button")
	if err != nil {
		return err
	}
	f, err := os.Open(dev)
	if err != nil {
		return fmt.Errorf("opening the power button: %w", err)
	}
	// Closing the device ends the blocked read below.
	unwatch := context.AfterFunc(ctx, func() { f.Close() })
	go func() {
		defer unwatch()
		defer f.Close()
		if pressed(f) {
			log.Info("power button pressed: shutting down")
			stop()
		}
	}()
	return nil
}

// findInputDevice returns the /dev/input/event* node of the input device
// with the given name.
func findInputDevice(name string) (string, error) {
	events, err := filepath.Glob("/sys/class/input/event*")
	if err != nil {
		return "", err
	}
	for _, ev := range events {
		b, err := os.ReadFile(filepath.Join(ev, "device", "name"))
		if err != nil {
			continue
		}
		if strings.TrimSpace(string(b)) == name {
			return filepath.Join("/dev/input", filepath.Base(ev)), nil
		}
	}
	return "", errors.New("no ACPI power button found")
}
