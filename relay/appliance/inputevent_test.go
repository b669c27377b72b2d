package appliance

import (
	"bytes"
	"encoding/binary"
	"testing"
)

func inputEvent(typ, code uint16, value int32) []byte {
	ev := make([]byte, inputEventSize)
	binary.NativeEndian.PutUint16(ev[16:], typ)
	binary.NativeEndian.PutUint16(ev[18:], code)
	binary.NativeEndian.PutUint32(ev[20:], uint32(value))
	return ev
}

func TestPressed(t *testing.T) {
	const evSyn, keyA = 0, 30
	var stream []byte
	stream = append(stream, inputEvent(evKey, keyA, 1)...)     // another key
	stream = append(stream, inputEvent(evKey, keyPower, 0)...) // a release
	stream = append(stream, inputEvent(evSyn, keyPower, 1)...) // not a key event
	if pressed(bytes.NewReader(stream)) {
		t.Fatal("pressed reported a press that did not happen")
	}
	stream = append(stream, inputEvent(evKey, keyPower, 1)...)
	if !pressed(bytes.NewReader(stream)) {
		t.Fatal("pressed missed the power key")
	}
	// A truncated event is the end of the device, not a press.
	if pressed(bytes.NewReader(inputEvent(evKey, keyPower, 1)[:20])) {
		t.Fatal("pressed accepted a truncated event")
	}
}
