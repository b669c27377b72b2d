package transfer_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"

	"github.com/bob-p2p/bob/transfer"
	"github.com/bob-p2p/bob/transfer/secure"
)

// Send and Receive run over any record channel; here the secure channel
// over an in-memory pipe, in bob over the relay or a direct path.
func Example() {
	src, err := os.MkdirTemp("", "bob-example-src")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(src)
	dst, err := os.MkdirTemp("", "bob-example-dst")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dst)
	os.WriteFile(filepath.Join(src, "notes.txt"), []byte("remember the milk\n"), 0o644)

	ctx := context.Background()
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	sent := make(chan error, 1)
	go func() {
		ch, err := secure.Handshake(ctx, a, secure.Config{Code: "7-guitarist-revenge", Nameplate: "7", Role: secure.Sender})
		if err != nil {
			sent <- err
			return
		}
		sent <- transfer.Send(ctx, ch, transfer.SendOptions{Paths: []string{filepath.Join(src, "notes.txt")}}, func(transfer.Event) {})
	}()
	ch, err := secure.Handshake(ctx, b, secure.Config{Code: "7-guitarist-revenge", Nameplate: "7", Role: secure.Receiver})
	if err != nil {
		panic(err)
	}
	err = transfer.Receive(ctx, ch, transfer.ReceiveOptions{
		OutDir: dst,
		Accept: func(_ context.Context, o transfer.OfferReceived) (bool, error) {
			fmt.Printf("offered %d file(s), %d bytes\n", o.Files, o.TotalBytes)
			return true, nil
		},
	}, func(e transfer.Event) {
		if d, ok := e.(transfer.Done); ok {
			fmt.Printf("done: %d file(s), %d bytes\n", d.Files, d.Bytes)
		}
	})
	if err := <-sent; err != nil {
		fmt.Println("sender:", err)
	}
	got, _ := os.ReadFile(filepath.Join(dst, "notes.txt"))
	fmt.Printf("receiver: %v, notes.txt: %q\n", err, got)
	// Output:
	// offered 1 file(s), 18 bytes
	// done: 1 file(s), 18 bytes
	// receiver: <nil>, notes.txt: "remember the milk\n"
}
