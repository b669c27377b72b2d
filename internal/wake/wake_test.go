package wake

import (
	"context"
	"errors"
	"net"
	"os"
	"testing"
	"time"
)

func pipe(t *testing.T) (net.Conn, net.Conn) {
	t.Helper()
	a, b := net.Pipe()
	t.Cleanup(func() { a.Close(); b.Close() })
	return a, b
}

// A read blocked on a connection returns once the context is cancelled,
// and stop says it was interrupted.
func TestOnDoneInterruptsARead(t *testing.T) {
	a, _ := pipe(t)
	ctx, cancel := context.WithCancel(context.Background())
	stop := OnDone(ctx, a.SetDeadline)
	read := make(chan error, 1)
	go func() {
		_, err := a.Read(make([]byte, 1))
		read <- err
	}()
	cancel()
	if err := <-read; !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read after cancel: %v, want a passed deadline", err)
	}
	if !stop() {
		t.Fatal("stop says the read was not interrupted")
	}
}

// After stop returns the connection is left alone: a later cancel does
// not move a deadline the caller has set since.
func TestStopLeavesTheConnectionAlone(t *testing.T) {
	a, b := pipe(t)
	ctx, cancel := context.WithCancel(context.Background())
	if OnDone(ctx, a.SetReadDeadline)() {
		t.Fatal("stop before any cancel says it interrupted")
	}
	cancel()
	a.SetReadDeadline(time.Time{})
	go b.Write([]byte("x"))
	if _, err := a.Read(make([]byte, 1)); err != nil {
		t.Fatalf("read after stop and cancel: %v", err)
	}
}

// A context that can never end costs nothing.
func TestBackgroundNeverFires(t *testing.T) {
	called := false
	stop := OnDone(context.Background(), func(time.Time) error { called = true; return nil })
	if stop() || called {
		t.Fatal("a background context woke the connection")
	}
}

// stop may be called more than once (a deferred call after an early one):
// it never blocks and keeps its answer.
func TestStopTwice(t *testing.T) {
	a, _ := pipe(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stop := OnDone(ctx, a.SetDeadline)
	if first, again := stop(), stop(); first || again {
		t.Fatal("stop before cancel says it interrupted")
	}
	ctx2, cancel2 := context.WithCancel(context.Background())
	stop2 := OnDone(ctx2, a.SetDeadline)
	cancel2()
	if first, again := stop2(), stop2(); !first || !again {
		t.Fatal("stop after cancel says it did not interrupt")
	}
}
