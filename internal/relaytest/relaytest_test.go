package relaytest_test

import (
	"context"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/bob-p2p/bob/internal/relaytest"
	"github.com/bob-p2p/bob/relay/rendezvous"
)

func TestStartServesAndStops(t *testing.T) {
	// A sender left waiting for its receiver when the inner test ends: the
	// relay's shutdown, run by the inner test's cleanup, must close it.
	// (Dialling the freed port afterwards would prove nothing: another
	// test process may have been given the same port by then.)
	var waiting net.Conn
	t.Run("inner", func(t *testing.T) {
		addr := relaytest.Start(t)
		if host, _, _ := net.SplitHostPort(addr); host != "127.0.0.1" {
			t.Fatalf("relay listens on %s, want 127.0.0.1", addr)
		}
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		waiting = c
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if np, err := rendezvous.Open(ctx, c, "", ""); err != nil || np != "1" {
			t.Fatalf("Open: %q, %v", np, err)
		}
	})
	if waiting == nil {
		t.Fatal("the inner test did not connect")
	}
	defer waiting.Close()
	// The relay had up to its grace period to close the connection; by the
	// time cleanup returned it must have done so.
	if err := waiting.SetReadDeadline(time.Now().Add(5 * time.Second)); err != nil {
		t.Fatal(err)
	}
	// The relay may say why it is closing first: read to the end.
	said, err := io.ReadAll(io.LimitReader(waiting, 1<<10))
	if err != nil && !isReset(err) {
		t.Fatalf("after the relay stopped, a waiting sender read %q, then %v; want the connection closed", said, err)
	}
}

func isReset(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && !op.Timeout()
}
