// Package relay is the server two peers meet at: it pairs a sender and a
// receiver by nameplate and forwards bytes it cannot read between them.
package relay
