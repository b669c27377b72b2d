package secure

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"
)

// A peer that sends a byte now and then never lets a read time out; the
// handshake as a whole must still end (issue 18, item 14).
func TestHandshakeTimeoutTrickle(t *testing.T) {
	for _, role := range []Role{Sender, Receiver} {
		t.Run(map[Role]string{Sender: "sender", Receiver: "receiver"}[role], func(t *testing.T) {
			a, b := net.Pipe()
			defer a.Close()
			trickled, drained := make(chan struct{}), make(chan struct{})
			go func() {
				// Drain what the side under test writes, until b is closed.
				defer close(drained)
				buf := make([]byte, 4096)
				for {
					if _, err := b.Read(buf); err != nil {
						return
					}
				}
			}()
			go func() {
				defer close(trickled)
				// A frame header promising 1000 bytes, then one byte at a time.
				if _, err := b.Write([]byte{0x03, 0xe8}); err != nil {
					return
				}
				tick := time.NewTicker(5 * time.Millisecond)
				defer tick.Stop()
				for range tick.C {
					if _, err := b.Write([]byte{'x'}); err != nil {
						return // the side under test gave up and closed
					}
				}
			}()
			cfg := receiverConfig()
			if role == Sender {
				cfg = senderConfig()
			}
			cfg.HandshakeTimeout = 100 * time.Millisecond
			_, err := Handshake(context.Background(), a, cfg)
			if !errors.Is(err, ErrHandshakeTimeout) {
				t.Errorf("Handshake error = %v, want ErrHandshakeTimeout", err)
			}
			a.Close()
			b.Close()
			<-trickled
			<-drained
		})
	}
}

func TestHandshakeTimeoutDefault(t *testing.T) {
	var cfg Config
	if got := cfg.handshakeTimeout(); got != DefaultHandshakeTimeout {
		t.Errorf("default handshake timeout = %v, want %v", got, DefaultHandshakeTimeout)
	}
	cfg.HandshakeTimeout = time.Second
	if got := cfg.handshakeTimeout(); got != time.Second {
		t.Errorf("configured handshake timeout = %v, want 1s", got)
	}
}
