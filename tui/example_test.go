package tui_test

import (
	"os"
	"time"

	"github.com/bob-p2p/bob/transfer"
	"github.com/bob-p2p/bob/tui"
)

// The plain view is what bob prints when its output is not a terminal: one
// line per step, then a summary. NewTUI takes the same Options and events.
func ExampleNewPlain() {
	v := tui.NewPlain(tui.Options{
		Role: tui.Sending,
		Out:  os.Stdout,
		// bob's command leaves the code out: typed at the prompt, it stays
		// out of the other machine's process list.
		ReceiveCommand: func(string) string { return "bob recv" },
		Describe:       func(err error) string { return err.Error() },
	})
	v.Event(transfer.CodeReady{Code: "7-guitarist-revenge"})
	v.Event(transfer.Paired{})
	v.Event(transfer.Done{Files: 1, Bytes: 2_500_000, Elapsed: 2 * time.Second, Via: "relay", Relay: "relay.example.org:9009"})
	v.Close(nil)
	// Output:
	// code: 7-guitarist-revenge
	// on the other machine run: bob recv (then type the code)
	// waiting for the receiver...
	// paired; checking the code...
	// done: sent 1 file (2.5 MB) in 2.0s, 1.3 MB/s average, via relay relay.example.org:9009
}
