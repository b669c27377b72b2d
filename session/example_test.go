package session_test

import (
	"context"
	"fmt"
	"net"
	"time"

	"github.com/bob-p2p/bob/internal/codes"
	"github.com/bob-p2p/bob/relay"
	"github.com/bob-p2p/bob/session"
	"github.com/bob-p2p/bob/transfer"
)

// A whole session: the sender opens a code at a relay, the receiver types
// it, both run the PAKE and the Noise handshake through the relay, and the
// text arrives. Discovery is off here so that the example stays on
// loopback; in bob it finds a sender on the same network by itself.
func Example() {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	served := make(chan error, 1)
	go func() { served <- relay.New(relay.DefaultConfig()).Serve(ctx, ln) }()
	defer func() { cancel(); <-served }()

	shown := make(chan string, 1) // what the sender's screen shows
	senderCfg := session.Config{
		Relays: []string{ln.Addr().String()}, NoDiscovery: true,
		Events: func(e transfer.Event) {
			if c, ok := e.(transfer.CodeReady); ok {
				shown <- c.Code
			}
		},
	}
	sent := make(chan error, 1)
	go func() {
		sent <- session.Send(ctx, senderCfg, codes.Code{}, transfer.SendOptions{Text: "the wifi password is on the fridge", IsText: true})
	}()

	code, err := codes.Parse(<-shown) // typed on the other machine
	if err != nil {
		panic(err)
	}
	receiverCfg := session.Config{
		Relays: []string{ln.Addr().String()}, NoDiscovery: true,
		Events: func(e transfer.Event) {
			if t, ok := e.(transfer.TextReceived); ok {
				fmt.Println("received:", t.Text)
			}
		},
	}
	if err := session.Receive(ctx, receiverCfg, code, transfer.ReceiveOptions{} /* a text is shown, not written */); err != nil {
		fmt.Println("receiver:", err)
	}
	if err := <-sent; err != nil {
		fmt.Println("sender:", err)
	}
	// Output: received: the wifi password is on the fridge
}
