package relaytest_test

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/bob-p2p/bob/relay/relaytest"
	"github.com/bob-p2p/bob/relay/rendezvous"
)

func TestStartServesAndStops(t *testing.T) {
	var addr string
	t.Run("inner", func(t *testing.T) {
		addr = relaytest.Start(t)
		if host, _, _ := net.SplitHostPort(addr); host != "127.0.0.1" {
			t.Fatalf("relay listens on %s, want 127.0.0.1", addr)
		}
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if np, err := rendezvous.Open(ctx, c, "", ""); err != nil || np != "1" {
			t.Fatalf("Open: %q, %v", np, err)
		}
	})
	// The inner test's cleanup stopped the relay.
	if c, err := net.Dial("tcp", addr); err == nil {
		c.Close()
		t.Fatal("the relay still accepts connections after its test ended")
	}
}
