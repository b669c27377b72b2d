// Package secure turns any byte stream between two peers who share only a
// short code into an authenticated, encrypted, forward-secret record channel.
//
// Handshake runs a PAKE (package pake) bound to the relay nameplate and a
// random session id, then a Noise_NNpsk0_25519_{AESGCM|ChaChaPoly}_BLAKE2s
// handshake keyed with the PAKE key, whose success is the key confirmation: a
// wrong code fails on both sides with ErrWrongCode. After that every record
// is a length-prefixed AEAD frame carrying a type byte and a payload, and the
// stream ends with an authenticated end record, so that a relay that cuts,
// truncates, drops, reorders or alters anything is always detected.
//
// The wire format is described in PROTOCOL.md.
package secure
