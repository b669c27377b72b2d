// Package wake interrupts blocked network calls when a context ends.
//
// Go's net.Conn reads and writes take no context; the way to stop one is to
// move its deadline into the past. Every package of bob that blocks on a
// connection under a context does it through OnDone, so the subtle part
// (after stop returns, nothing touches the connection any more) is written
// once.
package wake

import (
	"context"
	"sync"
	"time"
)

// Past is a deadline long gone: setting it makes blocked and future calls
// fail at once with os.ErrDeadlineExceeded.
var Past = time.Unix(1, 0)

// OnDone calls set(Past) once ctx is done: pass a connection's SetDeadline,
// SetReadDeadline or SetWriteDeadline, or a function that closes something
// without deadlines. The returned stop reports whether it was called; once
// stop returns, OnDone never calls set again, so the caller may reset the
// deadline and go on using the connection. Calling stop again returns the
// same answer.
func OnDone(ctx context.Context, set func(time.Time) error) (stop func() bool) {
	if ctx.Done() == nil {
		return func() bool { return false }
	}
	fired := make(chan struct{})
	stopAfter := context.AfterFunc(ctx, func() {
		defer close(fired)
		set(Past) //nolint:errcheck // the call it interrupts reports the error
	})
	return sync.OnceValue(func() bool {
		if stopAfter() {
			return false
		}
		<-fired
		return true
	})
}
