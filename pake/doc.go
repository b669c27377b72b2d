// Package pake turns a short shared code into a strong 32-byte key with a
// password-authenticated key exchange (SPAKE2 over P-256, from
// github.com/schollz/pake/v3), bound to the protocol, the roles, the relay
// nameplate and a per-session id chosen by the sender. It hides the library
// behind two calls, Start and Finish, and treats every peer message as
// hostile: messages are size-capped, strictly parsed and validated before the
// library sees them.
//
// The exchange by itself does not prove that both sides typed the same code:
// two different codes simply give two different keys. The key confirmation is
// the caller's next step (bob's secure channel runs a Noise handshake keyed
// with it).
package pake
