// Package session runs one bob transfer from end to end: it reaches the
// relay (or finds the sender on the local network), meets the peer under
// the code's nameplate, runs the key exchange, chooses the path the data
// takes (straight to the peer when one exists, else through the relay) and
// hands the secure channel to package transfer.
//
// A session is Send on one side and Receive on the other. Both report what
// happens as transfer events through Config.Events; the command line only
// chooses the settings and shows the events.
package session
