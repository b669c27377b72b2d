package main

import (
	"errors"

	"github.com/spf13/cobra"
)

// newRelayCmd is owned by the relay work; until then it refuses to run.
func newRelayCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "relay",
		Short: "Run a relay that pairs peers and forwards their encrypted bytes",
		RunE: func(*cobra.Command, []string) error {
			return errors.New("the relay is not built yet")
		},
	}
}
