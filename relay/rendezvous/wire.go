// Package rendezvous is the small, versioned exchange by which a sender and a
// receiver meet at a bob relay, and the client side of it.
//
// Every message, in both directions, is one frame:
//
//	"BOB" | version (1 byte) | type (1 byte) | body length (2 bytes, big endian) | body
//
// The body is at most 512 bytes (maxBody). A client sends exactly one frame, its
// hello, and nothing more until the relay answers "paired"; from then on the
// connection is a raw byte pipe to the peer. Neither side ever reads past a
// frame, so no byte of the peer's stream is consumed by the rendezvous.
//
// The frame header and the error reply keep their layout in every version, so
// that a client and a relay of different versions can tell each other so.
package rendezvous

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/netip"
)

// Version is the protocol version this package speaks. Version 2 tells a
// paired client the address the relay saw it at.
const Version = 2

// DefaultPort is the TCP port a relay listens on unless told otherwise.
const DefaultPort = 9009

// Limits of the exchange. Anything larger is refused before it is read.
const (
	maxBody         = 512
	MaxNameplateLen = 8
	maxPasswordLen  = 255
	headerLen       = 7
)

var magic = [3]byte{'B', 'O', 'B'}

// Role says what a client asks the relay for.
type Role byte

// The roles of a hello.
const (
	RoleSend    Role = 'S' // open a nameplate and wait for a receiver
	RoleReceive Role = 'R' // claim a nameplate a sender opened
)

// Types of the relay's replies.
const (
	typeAssigned = 'A' // body: the nameplate
	typePaired   = 'P' // body: the client's address as the relay saw it
	typeError    = 'E' // body: one error code byte
)

// Hello is the one frame a client sends.
type Hello struct {
	Role Role
	// Nameplate is what to open or claim; empty when a sender asks the
	// relay to pick the lowest free one.
	Nameplate string
	// Password is the relay's password, for a private relay.
	Password string
}

// ErrMalformed reports a frame that does not follow the protocol.
var ErrMalformed = errors.New("malformed rendezvous message")

// CheckNameplate reports whether s can be a nameplate: 1 to 8 ASCII digits.
func CheckNameplate(s string) error {
	if s == "" || len(s) > MaxNameplateLen {
		return fmt.Errorf("nameplate must be 1 to %d digits", MaxNameplateLen)
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return fmt.Errorf("nameplate must be digits only")
		}
	}
	return nil
}

// AppendHello appends the encoding of h to b.
func AppendHello(b []byte, h Hello) ([]byte, error) {
	if h.Role != RoleSend && h.Role != RoleReceive {
		return b, fmt.Errorf("unknown rendezvous role %q", h.Role)
	}
	if h.Nameplate != "" || h.Role == RoleReceive {
		if err := CheckNameplate(h.Nameplate); err != nil {
			return b, err
		}
	}
	if len(h.Password) > maxPasswordLen {
		return b, fmt.Errorf("relay password is longer than %d bytes", maxPasswordLen)
	}
	body := 2 + len(h.Nameplate) + len(h.Password)
	b = appendHeader(b, byte(h.Role), body)
	b = append(b, byte(len(h.Nameplate)))
	b = append(b, h.Nameplate...)
	b = append(b, byte(len(h.Password)))
	b = append(b, h.Password...)
	return b, nil
}

func appendHeader(b []byte, typ byte, bodyLen int) []byte {
	b = append(b, magic[:]...)
	b = append(b, Version, typ)
	return binary.BigEndian.AppendUint16(b, uint16(bodyLen))
}

// frame is a decoded frame header plus its body.
type frame struct {
	version byte
	typ     byte
	body    []byte
}

// readFrame reads exactly one frame from r and nothing more. A frame of
// another version is returned with its body so that the caller can answer it.
func readFrame(r io.Reader, buf *[headerLen + maxBody]byte) (frame, error) {
	hdr := buf[:headerLen]
	if _, err := io.ReadFull(r, hdr); err != nil {
		return frame{}, err
	}
	if [3]byte(hdr[:3]) != magic {
		return frame{}, fmt.Errorf("%w: not a bob rendezvous frame", ErrMalformed)
	}
	n := int(binary.BigEndian.Uint16(hdr[5:7]))
	if n > maxBody {
		return frame{}, fmt.Errorf("%w: %d-byte body is over the %d-byte limit", ErrMalformed, n, maxBody)
	}
	body := buf[headerLen : headerLen+n]
	if _, err := io.ReadFull(r, body); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return frame{}, err
	}
	return frame{version: hdr[3], typ: hdr[4], body: body}, nil
}

// ReadHello reads one hello from r, reading no byte beyond it. It returns
// an error wrapping [ErrVersion] for a hello of another protocol version, one
// wrapping [ErrMalformed] for anything else that is not a valid hello, and
// the reader's error (io.EOF, a timeout...) if the hello did not arrive whole.
func ReadHello(r io.Reader) (Hello, error) {
	var buf [headerLen + maxBody]byte
	f, err := readFrame(r, &buf)
	if err != nil {
		return Hello{}, err
	}
	if f.version != Version {
		return Hello{}, fmt.Errorf("%w: client speaks version %d, relay speaks %d", ErrVersion, f.version, Version)
	}
	return parseHelloBody(Role(f.typ), f.body)
}

func parseHelloBody(role Role, body []byte) (Hello, error) {
	if role != RoleSend && role != RoleReceive {
		return Hello{}, fmt.Errorf("%w: unknown hello type %d", ErrMalformed, role)
	}
	field := func() (string, bool) {
		if len(body) < 1 || len(body)-1 < int(body[0]) {
			return "", false
		}
		n := int(body[0])
		s := string(body[1 : 1+n])
		body = body[1+n:]
		return s, true
	}
	nameplate, ok1 := field()
	password, ok2 := field()
	if !ok1 || !ok2 || len(body) != 0 {
		return Hello{}, fmt.Errorf("%w: hello fields do not match its length", ErrMalformed)
	}
	if nameplate != "" || role == RoleReceive {
		if err := CheckNameplate(nameplate); err != nil {
			return Hello{}, fmt.Errorf("%w: %v", ErrMalformed, err)
		}
	}
	return Hello{Role: role, Nameplate: nameplate, Password: password}, nil
}

// Code is an error code the relay sends in an error reply.
type Code byte

// The error codes. Their numbers are part of the protocol.
const (
	CodeUnknownNameplate Code = 1
	CodeNameplateTaken   Code = 2
	CodeAlreadyClaimed   Code = 3
	CodeBadPassword      Code = 4
	CodeRelayFull        Code = 5
	CodeRateLimited      Code = 6
	CodeVersion          Code = 7
	CodeBadRequest       Code = 8
	CodeShuttingDown     Code = 9
	CodeTimedOut         Code = 10
	// CodeClusterUnavailable: a relay node cannot reach the cluster that
	// shares its nameplates, so it can pair no one new for now.
	CodeClusterUnavailable Code = 11
)

// Errors a client gets from the relay. Each reads as a sentence to a user.
var (
	ErrUnknownNameplate   = errors.New("no sender is waiting at that code's number on the relay; check the code")
	ErrNameplateTaken     = errors.New("that code's number is already in use on the relay; choose another code")
	ErrAlreadyClaimed     = errors.New("someone already used that code; ask the sender for a new one")
	ErrBadPassword        = errors.New("the relay refused the password")
	ErrRelayFull          = errors.New("the relay is full; try again later")
	ErrRateLimited        = errors.New("the relay is limiting connections from your address; try again shortly")
	ErrVersion            = errors.New("the relay speaks another version of the rendezvous protocol; upgrade bob")
	ErrBadRequest         = errors.New("the relay did not understand the request")
	ErrShuttingDown       = errors.New("the relay is shutting down; try again in a moment")
	ErrTimedOut           = errors.New("the relay stopped waiting: the other side did not come in time")
	ErrClusterUnavailable = errors.New("cluster unavailable: the relay cannot reach the other relay nodes right now; try again in a moment")
)

var codeErrors = map[Code]error{
	CodeUnknownNameplate:   ErrUnknownNameplate,
	CodeNameplateTaken:     ErrNameplateTaken,
	CodeAlreadyClaimed:     ErrAlreadyClaimed,
	CodeBadPassword:        ErrBadPassword,
	CodeRelayFull:          ErrRelayFull,
	CodeRateLimited:        ErrRateLimited,
	CodeVersion:            ErrVersion,
	CodeBadRequest:         ErrBadRequest,
	CodeShuttingDown:       ErrShuttingDown,
	CodeTimedOut:           ErrTimedOut,
	CodeClusterUnavailable: ErrClusterUnavailable,
}

// Err returns the error a client reports for c.
func (c Code) Err() error {
	if err, ok := codeErrors[c]; ok {
		return err
	}
	return fmt.Errorf("the relay refused the request (code %d)", byte(c))
}

// AppendAssigned appends the reply telling a sender its nameplate.
func AppendAssigned(b []byte, nameplate string) []byte {
	b = appendHeader(b, typeAssigned, len(nameplate))
	return append(b, nameplate...)
}

// AppendPaired appends the reply telling a client its peer is there, and
// where the relay saw the client: behind a NAT, its public address and
// port, which the peers use to open a direct path through their NATs. An
// invalid observed means unknown.
//
// Body: length (1 byte: 0, 4 or 16) | address | port (2 bytes, big endian,
// only with an address).
func AppendPaired(b []byte, observed netip.AddrPort) []byte {
	if !observed.IsValid() {
		b = appendHeader(b, typePaired, 1)
		return append(b, 0)
	}
	raw := observed.Addr().Unmap().AsSlice()
	b = appendHeader(b, typePaired, 1+len(raw)+2)
	b = append(b, byte(len(raw)))
	b = append(b, raw...)
	return binary.BigEndian.AppendUint16(b, observed.Port())
}

// parseObserved reads a paired reply's body.
func parseObserved(body []byte) (netip.AddrPort, error) {
	if len(body) == 1 && body[0] == 0 {
		return netip.AddrPort{}, nil
	}
	if len(body) < 1 || (body[0] != 4 && body[0] != 16) || len(body) != 1+int(body[0])+2 {
		return netip.AddrPort{}, fmt.Errorf("%w: paired reply of %d bytes", ErrMalformed, len(body))
	}
	a, _ := netip.AddrFromSlice(body[1 : 1+body[0]])
	return netip.AddrPortFrom(a.Unmap(), binary.BigEndian.Uint16(body[1+body[0]:])), nil
}

// AppendError appends an error reply.
func AppendError(b []byte, c Code) []byte {
	b = appendHeader(b, typeError, 1)
	return append(b, byte(c))
}

// Reply is a decoded reply of the relay.
type Reply struct {
	Paired    bool
	Observed  netip.AddrPort // with Paired: where the relay saw this client, if it said
	Nameplate string         // set for an "assigned" reply
	Err       error          // set for an error reply
}

// ReadReply reads one reply from r, reading no byte beyond it. An error reply
// is returned as a Reply whose Err is set; the error return is for a reply
// that could not be read or makes no sense.
func ReadReply(r io.Reader) (Reply, error) {
	var buf [headerLen + maxBody]byte
	f, err := readFrame(r, &buf)
	if err != nil {
		return Reply{}, err
	}
	if f.typ == typeError && len(f.body) == 1 {
		// Error replies keep their layout across versions.
		return Reply{Err: Code(f.body[0]).Err()}, nil
	}
	if f.version != Version {
		return Reply{}, fmt.Errorf("%w (the relay speaks version %d, bob speaks %d)", ErrVersion, f.version, Version)
	}
	switch f.typ {
	case typeAssigned:
		np := string(f.body)
		if err := CheckNameplate(np); err != nil {
			return Reply{}, fmt.Errorf("%w: relay assigned an invalid nameplate: %v", ErrMalformed, err)
		}
		return Reply{Nameplate: np}, nil
	case typePaired:
		observed, err := parseObserved(f.body)
		if err != nil {
			return Reply{}, err
		}
		return Reply{Paired: true, Observed: observed}, nil
	}
	return Reply{}, fmt.Errorf("%w: unknown reply type %d", ErrMalformed, f.typ)
}
