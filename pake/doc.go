// Package pake turns a short shared code into a strong 32-byte key with a
// password-authenticated key exchange (SPAKE2 over P-256, from
// github.com/schollz/pake/v3), bound to the protocol, the roles, the relay
// nameplate and a per-session id. It hides the library behind two calls.
package pake
