package pake_test

import (
	"crypto/rand"
	"fmt"

	"github.com/bob-p2p/bob/pake"
)

// Two sides that typed the same code, however spaced or capitalised, agree on
// a key; in bob the two messages cross the relay, which learns nothing from
// them.
func Example() {
	b := pake.Binding{Nameplate: "7"}
	rand.Read(b.SessionID[:]) // the sender picks it and tells the receiver

	// The sender speaks first; the receiver answers once it has read that.
	sender, toReceiver, err := pake.Start("7-guitarist-revenge", pake.Sender, b)
	if err != nil {
		panic(err)
	}
	receiver, _, err := pake.Start(" 7-Guitarist-Revenge", pake.Receiver, b)
	if err != nil {
		panic(err)
	}
	receiverKey, err := receiver.Finish(toReceiver)
	if err != nil {
		panic(err)
	}
	senderKey, err := sender.Finish(receiver.Message())
	if err != nil {
		panic(err)
	}
	fmt.Println("same key:", senderKey == receiverKey)
	// Output: same key: true
}
