package rendezvous_test

import (
	"bytes"
	"fmt"

	"github.com/bob-p2p/bob/relay/rendezvous"
)

// A relay reads a client's hello with ReadHello; the frame is small and
// read to its last byte only, so nothing of the peers' stream behind it is
// consumed.
func ExampleReadHello() {
	frame, err := rendezvous.AppendHello(nil, rendezvous.Hello{Role: rendezvous.RoleReceive, Nameplate: "7"})
	if err != nil {
		panic(err)
	}
	r := bytes.NewReader(append(frame, "the peers' bytes"...))
	h, err := rendezvous.ReadHello(r)
	if err != nil {
		panic(err)
	}
	fmt.Printf("receiver=%v nameplate=%s, %d bytes left unread\n", h.Role == rendezvous.RoleReceive, h.Nameplate, r.Len())
	// Output: receiver=true nameplate=7, 16 bytes left unread
}
