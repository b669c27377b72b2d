package rendezvous

import (
	"bytes"
	"errors"
	"io"
	"net/netip"
	"strings"
	"testing"
)

// A paired reply says where the relay saw the client, or that it does not
// know; any other body is malformed.
func TestPairedObserved(t *testing.T) {
	for _, a := range []netip.AddrPort{{}, netip.MustParseAddrPort("192.0.2.1:1"), netip.MustParseAddrPort("[2001:db8::1]:65535")} {
		got, err := ReadReply(bytes.NewReader(AppendPaired(nil, a)))
		if err != nil || !got.Paired || got.Observed != a {
			t.Errorf("%v: got %+v, %v", a, got, err)
		}
	}
	for _, body := range [][]byte{{}, {4, 1, 2, 3}, {5, 1, 2, 3, 4, 5, 0, 1}, {0, 0}} {
		frame := appendHeader(nil, typePaired, len(body))
		if _, err := ReadReply(bytes.NewReader(append(frame, body...))); !errors.Is(err, ErrMalformed) {
			t.Errorf("body %x: %v, want ErrMalformed", body, err)
		}
	}
}

func TestHelloRoundTrip(t *testing.T) {
	for _, h := range []Hello{
		{Role: RoleSend},
		{Role: RoleSend, Nameplate: "7"},
		{Role: RoleSend, Nameplate: "12345678", Password: strings.Repeat("p", maxPasswordLen)},
		{Role: RoleReceive, Nameplate: "007", Password: "secret"},
	} {
		b, err := AppendHello(nil, h)
		if err != nil {
			t.Fatalf("AppendHello(%+v): %v", h, err)
		}
		// Bytes after the hello belong to the peer's stream: ReadHello
		// must not consume them.
		r := bytes.NewReader(append(b, "peer data"...))
		got, err := ReadHello(r)
		if err != nil || got != h {
			t.Fatalf("ReadHello = %+v, %v; want %+v", got, err, h)
		}
		if rest, _ := io.ReadAll(r); string(rest) != "peer data" {
			t.Fatalf("ReadHello consumed past the hello: %q left", rest)
		}
	}
}

func TestAppendHelloRefusesBadFields(t *testing.T) {
	for _, h := range []Hello{
		{Role: 'X', Nameplate: "1"},
		{Role: RoleReceive},
		{Role: RoleSend, Nameplate: "123456789"},
		{Role: RoleSend, Nameplate: "1a"},
		{Role: RoleSend, Password: strings.Repeat("p", maxPasswordLen+1)},
	} {
		if _, err := AppendHello(nil, h); err == nil {
			t.Errorf("AppendHello(%+v) succeeded", h)
		}
	}
}

func TestReadHelloErrors(t *testing.T) {
	good, _ := AppendHello(nil, Hello{Role: RoleReceive, Nameplate: "12"})
	for i := range good {
		_, err := ReadHello(bytes.NewReader(good[:i]))
		if !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Errorf("hello cut at %d bytes: %v, want an EOF", i, err)
		}
	}
	v2 := bytes.Clone(good)
	v2[3] = Version + 1
	if _, err := ReadHello(bytes.NewReader(v2)); !errors.Is(err, ErrVersion) {
		t.Errorf("hello of version %d: %v, want ErrVersion", v2[3], err)
	}
	for _, bad := range []string{
		"XYZ\x01S\x00\x02\x00\x00",
		"BOB\x02S\x00\x03\x00\x00\x00",      // trailing byte in the body
		"BOB\x02S\x00\x02\x05\x00",          // nameplate longer than the body
		"BOB\x02S\x00\x03\x01x\x00",         // nameplate not digits
		"BOB\x02S\xff\xff",                  // over the size limit
		"BOB\x02P\x00\x02\x00\x00",          // a reply type
		"BOB\x02R\x00\x0b\x09123456789\x00", // nameplate too long
	} {
		if _, err := ReadHello(strings.NewReader(bad)); !errors.Is(err, ErrMalformed) {
			t.Errorf("ReadHello(%q): %v, want ErrMalformed", bad, err)
		}
	}
}

func TestReplies(t *testing.T) {
	var b []byte
	b = AppendAssigned(b, "42")
	b = AppendPaired(b, netip.MustParseAddrPort("198.51.100.7:40000"))
	b = AppendError(b, CodeAlreadyClaimed)
	b = AppendError(b, 200)
	b = append(b, "peer data"...)
	r := bytes.NewReader(b)
	if got, err := ReadReply(r); err != nil || got.Nameplate != "42" {
		t.Fatalf("assigned: %+v, %v", got, err)
	}
	if got, err := ReadReply(r); err != nil || !got.Paired || got.Observed != netip.MustParseAddrPort("198.51.100.7:40000") {
		t.Fatalf("paired: %+v, %v", got, err)
	}
	if got, err := ReadReply(r); err != nil || !errors.Is(got.Err, ErrAlreadyClaimed) {
		t.Fatalf("error reply: %+v, %v", got, err)
	}
	if got, err := ReadReply(r); err != nil || got.Err == nil || !strings.Contains(got.Err.Error(), "code 200") {
		t.Fatalf("unknown error code: %+v, %v", got, err)
	}
	if rest, _ := io.ReadAll(r); string(rest) != "peer data" {
		t.Fatalf("ReadReply consumed past the replies: %q left", rest)
	}

	// An error reply reads the same whatever the relay's version; any
	// other reply of another version is a version mismatch.
	e := AppendError(nil, CodeRelayFull)
	e[3] = 9
	if got, err := ReadReply(bytes.NewReader(e)); err != nil || !errors.Is(got.Err, ErrRelayFull) {
		t.Fatalf("error reply of version 9: %+v, %v", got, err)
	}
	p := AppendPaired(nil, netip.AddrPort{})
	p[3] = 9
	if _, err := ReadReply(bytes.NewReader(p)); !errors.Is(err, ErrVersion) {
		t.Fatalf("paired reply of version 9: %v, want ErrVersion", err)
	}
	for _, bad := range []string{
		"BOB\x02A\x00\x00",         // empty nameplate
		"BOB\x02A\x00\x02\x1b[",    // not digits (an escape sequence)
		"BOB\x02P\x00\x01x",        // paired with a malformed body
		"BOB\x02Z\x00\x00",         // unknown type
		"HTTP/1.1 400 Bad Request", // not a relay
	} {
		if _, err := ReadReply(strings.NewReader(bad)); !errors.Is(err, ErrMalformed) {
			t.Errorf("ReadReply(%q): %v, want ErrMalformed", bad, err)
		}
	}
}

func TestEveryCodeHasItsError(t *testing.T) {
	want := map[Code]error{
		CodeUnknownNameplate: ErrUnknownNameplate, CodeNameplateTaken: ErrNameplateTaken,
		CodeAlreadyClaimed: ErrAlreadyClaimed, CodeBadPassword: ErrBadPassword,
		CodeRelayFull: ErrRelayFull, CodeRateLimited: ErrRateLimited, CodeVersion: ErrVersion,
		CodeBadRequest: ErrBadRequest, CodeShuttingDown: ErrShuttingDown, CodeTimedOut: ErrTimedOut,
		CodeClusterUnavailable: ErrClusterUnavailable,
	}
	for c, err := range want {
		if !errors.Is(c.Err(), err) {
			t.Errorf("code %d: %v, want %v", c, c.Err(), err)
		}
	}
}

// TestClusterUnavailableOnTheWire: the refusal a clustered node sends when
// it cannot reach NATS reads back as the error a user sees.
func TestClusterUnavailableOnTheWire(t *testing.T) {
	b := AppendError(nil, CodeClusterUnavailable)
	if want := "BOB\x02E\x00\x01\x0b"; string(b) != want {
		t.Fatalf("encoded %q, want %q", b, want)
	}
	r, err := ReadReply(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if !errors.Is(r.Err, ErrClusterUnavailable) || !strings.Contains(r.Err.Error(), "cluster unavailable") {
		t.Fatalf("reply error %v, want ErrClusterUnavailable", r.Err)
	}
}

// FuzzReadHello feeds the relay's parser arbitrary bytes: it must never
// panic, never read past one frame, and accept only what it would encode.
func FuzzReadHello(f *testing.F) {
	for _, h := range []Hello{{Role: RoleSend}, {Role: RoleReceive, Nameplate: "7", Password: "pw"}} {
		b, _ := AppendHello(nil, h)
		f.Add(b)
	}
	f.Add([]byte("BOB\x01S\xff\xff"))
	f.Add([]byte("BOB\x02S\x00\x02\x00\x00"))
	f.Fuzz(func(t *testing.T, data []byte) {
		r := bytes.NewReader(data)
		h, err := ReadHello(r)
		consumed := len(data) - r.Len()
		if consumed > headerLen+maxBody {
			t.Fatalf("read %d bytes, more than one frame can hold", consumed)
		}
		if err != nil {
			return
		}
		b, err := AppendHello(nil, h)
		if err != nil {
			t.Fatalf("accepted a hello it cannot encode: %+v: %v", h, err)
		}
		if !bytes.Equal(b, data[:consumed]) {
			t.Fatalf("accepted %q, which encodes as %q", data[:consumed], b)
		}
	})
}

// FuzzReadReply does the same for the client's parser: the relay is not
// trusted either.
func FuzzReadReply(f *testing.F) {
	f.Add(AppendAssigned(nil, "1"))
	f.Add(AppendPaired(nil, netip.AddrPort{}))
	f.Add(AppendPaired(nil, netip.MustParseAddrPort("[2001:db8::9]:9")))
	f.Add(AppendError(nil, CodeBadPassword))
	f.Add([]byte("BOB\x01A\x00\x02\x1b["))
	f.Fuzz(func(t *testing.T, data []byte) {
		r := bytes.NewReader(data)
		rep, err := ReadReply(r)
		consumed := len(data) - r.Len()
		if consumed > headerLen+maxBody {
			t.Fatalf("read %d bytes, more than one frame can hold", consumed)
		}
		if err != nil {
			return
		}
		if rep.Nameplate != "" {
			if err := CheckNameplate(rep.Nameplate); err != nil {
				t.Fatalf("accepted nameplate %q: %v", rep.Nameplate, err)
			}
		}
	})
}
