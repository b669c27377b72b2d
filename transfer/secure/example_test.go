package secure_test

import (
	"context"
	"fmt"
	"io"
	"net"

	"github.com/bob-p2p/bob/transfer/secure"
)

func Example() {
	// In bob the two ends are the relay's spliced TCP connections.
	senderSide, receiverSide := net.Pipe()
	defer senderSide.Close()
	defer receiverSide.Close()
	ctx := context.Background()

	go func() {
		conn, err := secure.Handshake(ctx, senderSide, secure.Config{
			Code: "7-guitarist-revenge", Nameplate: "7", Role: secure.Sender,
		})
		if err != nil {
			fmt.Println("sender:", err)
			return
		}
		conn.Write([]byte("hello, receiver"))
		conn.CloseWrite() // without this the receiver sees ErrTruncated
	}()

	conn, err := secure.Handshake(ctx, receiverSide, secure.Config{
		Code: "7-Guitarist-Revenge ", Nameplate: "7", Role: secure.Receiver,
	})
	if err != nil {
		fmt.Println("receiver:", err)
		return
	}
	msg, err := io.ReadAll(conn)
	fmt.Printf("%s (err=%v)\n", msg, err)
	// Output: hello, receiver (err=<nil>)
}
