package relay_test

import (
	"context"
	"fmt"
	"io"
	"net"

	"github.com/bob-p2p/bob/relay"
	"github.com/bob-p2p/bob/relay/rendezvous"
)

// A relay pairs a sender and the receiver that claims its nameplate, then
// forwards their bytes (in bob, end-to-end encrypted) both ways.
func Example() {
	ctx, stop := context.WithCancel(context.Background())
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	served := make(chan error, 1)
	go func() { served <- relay.New(relay.DefaultConfig()).Serve(ctx, ln) }()
	defer func() { stop(); <-served }()

	sender, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		panic(err)
	}
	defer sender.Close()
	nameplate, err := rendezvous.Open(ctx, sender, "", "") // the lowest free number
	if err != nil {
		panic(err)
	}

	receiver, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		panic(err)
	}
	defer receiver.Close()
	if err := rendezvous.Claim(ctx, receiver, nameplate, ""); err != nil {
		panic(err)
	}
	if err := rendezvous.WaitPaired(ctx, sender); err != nil {
		panic(err)
	}
	sender.Write([]byte("hello through the relay"))
	sender.(*net.TCPConn).CloseWrite()
	got, _ := io.ReadAll(receiver)
	fmt.Printf("nameplate %s: %s\n", nameplate, got)
	// Output: nameplate 1: hello through the relay
}
