package appliance

import (
	"encoding/binary"
	"io"
)

// Linux input event constants (linux/input-event-codes.h).
const (
	evKey    = 0x01
	keyPower = 116
	// inputEventSize is sizeof(struct input_event) on 64-bit Linux: a
	// struct timeval, then type, code (uint16) and value (int32).
	inputEventSize = 24
)

// pressed reads input events until the power key goes down (true) or the
// device can no longer be read (false).
func pressed(r io.Reader) bool {
	var ev [inputEventSize]byte
	for {
		if _, err := io.ReadFull(r, ev[:]); err != nil {
			return false
		}
		typ := binary.NativeEndian.Uint16(ev[16:18])
		code := binary.NativeEndian.Uint16(ev[18:20])
		value := int32(binary.NativeEndian.Uint32(ev[20:24]))
		if typ == evKey && code == keyPower && value == 1 {
			return true
		}
	}
}
