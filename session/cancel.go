package session

import (
	"context"
	"io"
	"time"

	"github.com/bob-p2p/bob/internal/wake"
)

// cancelGrace is how long a cancelled transfer may take to tell the peer
// before its connection is cut.
const cancelGrace = 2 * time.Second

// closeOnCancel closes c as soon as ctx is cancelled: until the channel is
// secured there is nobody to tell, and dialling, rendezvous and the handshake
// must stop at once.
func closeOnCancel(ctx context.Context, c io.Closer) (stop func() bool) {
	return wake.OnDone(ctx, func(time.Time) error { return c.Close() })
}

// closeAfterGrace closes c cancelGrace after ctx is cancelled. Once the
// channel is secured a cancelled transfer sends the peer a stop record and
// ends its stream itself; the grace bounds that when the peer or the relay
// stalls. Calling stop ends the wait at once.
func closeAfterGrace(ctx context.Context, c io.Closer) (stop func()) {
	done := make(chan struct{})
	stopAfter := context.AfterFunc(ctx, func() {
		t := time.NewTimer(cancelGrace)
		defer t.Stop()
		select {
		case <-t.C:
			c.Close()
		case <-done:
		}
	})
	return func() {
		stopAfter()
		close(done)
	}
}
