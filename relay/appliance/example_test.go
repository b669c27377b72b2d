package appliance_test

import (
	"fmt"
	"net/netip"

	"github.com/bob-p2p/bob/relay/appliance"
)

// The appliance serves the relay's metrics to its own loopback and to the
// hypervisor's side only, unless the kernel command line's relay flags say
// to whom.
func ExampleRestrictMetrics() {
	args := []string{"--listen=:9009", "--metrics=:9100"}
	fmt.Println(appliance.RestrictMetrics(args, netip.MustParseAddr("10.0.2.2")))
	// Output: [--listen=:9009 --metrics=:9100 --metrics-from=127.0.0.0/8,::1/128,10.0.2.2/32]
}
