package appliance

import (
	"net/netip"
	"reflect"
	"slices"
	"strings"
	"testing"
)

func TestSplitCmdline(t *testing.T) {
	tests := []struct {
		in   string
		want []Param
	}{
		{"", nil},
		{"  \t\n", nil},
		{"quiet", []Param{{Key: "quiet"}}},
		{"console=ttyS0 panic=-1  quiet\n", []Param{
			{Key: "console", Value: "ttyS0", HasValue: true},
			{Key: "panic", Value: "-1", HasValue: true},
			{Key: "quiet"},
		}},
		{"a= b", []Param{{Key: "a", HasValue: true}, {Key: "b"}}},
		{"x=a=b", []Param{{Key: "x", Value: "a=b", HasValue: true}}},
		// Quotes around a value group spaces and are removed.
		{`bob.arg="--password=two words" next`, []Param{
			{Key: "bob.arg", Value: "--password=two words", HasValue: true},
			{Key: "next"},
		}},
		// Quotes around the whole word, too.
		{`"bob.arg=a b" c`, []Param{{Key: "bob.arg", Value: "a b", HasValue: true}, {Key: "c"}}},
		{`"quoted word"`, []Param{{Key: "quoted word"}}},
		// An unterminated quote runs to the end, as in Linux.
		{`k="open ended`, []Param{{Key: "k", Value: "open ended", HasValue: true}}},
		// Quotes in the middle of a value stay.
		{`k=a"b c"d`, []Param{{Key: "k", Value: `a"b c"d`, HasValue: true}}},
	}
	for _, tt := range tests {
		got := SplitCmdline(tt.in)
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("SplitCmdline(%q) = %+v, want %+v", tt.in, got, tt.want)
		}
	}
}

func TestParseCmdline(t *testing.T) {
	tests := []struct {
		in   string
		want Config
	}{
		{
			in:   "console=ttyS0 panic=-1 quiet",
			want: Config{Interface: "eth0"},
		},
		{
			in: "console=ttyS0 bob.ip=dhcp bob.relay=--listen=:9009,--metrics=:9100",
			want: Config{Interface: "eth0",
				RelayArgs: []string{"--listen=:9009", "--metrics=:9100"}},
		},
		{
			in: "bob.ip=10.0.2.15/24 bob.gw=10.0.2.2 bob.iface=ens3",
			want: Config{Interface: "ens3",
				Address: netip.MustParsePrefix("10.0.2.15/24"),
				Gateway: netip.MustParseAddr("10.0.2.2")},
		},
		{
			in:   "bob.ip=fd00::15/64 bob.gw=fd00::1",
			want: Config{Interface: "eth0", Address: netip.MustParsePrefix("fd00::15/64"), Gateway: netip.MustParseAddr("fd00::1")},
		},
		{
			// A static address without a gateway: enough behind qemu's
			// port forwarding, whose peer is on the link.
			in:   "bob.ip=10.0.2.15/24",
			want: Config{Interface: "eth0", Address: netip.MustParsePrefix("10.0.2.15/24")},
		},
		{
			// bob.relay and bob.arg add up in order; bob.arg keeps commas
			// and, quoted, spaces; empty items of bob.relay are dropped.
			in: `bob.relay=--listen=:9009,,--log-level=debug "bob.arg=--password=a,b c" bob.relay=--metrics=:9100`,
			want: Config{Interface: "eth0",
				RelayArgs: []string{"--listen=:9009", "--log-level=debug", "--password=a,b c", "--metrics=:9100"}},
		},
		{
			// Later settings win; dhcp undoes an earlier address.
			in:   "bob.ip=10.0.2.15/24 bob.ip=dhcp",
			want: Config{Interface: "eth0"},
		},
		{
			// Other dotted parameters are the kernel's (module parameters).
			in:   "virtio_net.napi_tx=1 bobby.x=1 bob=1",
			want: Config{Interface: "eth0"},
		},
	}
	for _, tt := range tests {
		got, err := ParseCmdline(tt.in)
		if err != nil {
			t.Errorf("ParseCmdline(%q): %v", tt.in, err)
			continue
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ParseCmdline(%q) = %+v, want %+v", tt.in, got, tt.want)
		}
	}
}

func TestParseCmdlineDHCP(t *testing.T) {
	c, err := ParseCmdline("bob.relay=--listen=:9009")
	if err != nil {
		t.Fatal(err)
	}
	if !c.DHCP() {
		t.Error("no bob.ip: want DHCP")
	}
	c, err = ParseCmdline("bob.ip=192.0.2.10/24")
	if err != nil {
		t.Fatal(err)
	}
	if c.DHCP() {
		t.Error("static bob.ip: want no DHCP")
	}
}

func TestParseCmdlineErrors(t *testing.T) {
	tests := map[string]string{
		"bob.ip=10.0.2.15":                             "prefix length",
		"bob.ip=dhcp4":                                 "prefix length",
		"bob.ip=fe80::1%eth0/64":                       "bob.ip",
		"bob.gw=10.0.2.2":                              "only for a static",
		"bob.ip=10.0.2.15/24 bob.gw=fd00::1":           "both be IPv4 or both IPv6",
		"bob.ip=10.0.2.15/24 bob.gw=gateway":           "want an IP address",
		"bob.iface=eth0/../x":                          "interface name",
		"bob.iface=averyveryverylongname":              "interface name",
		"bob.relay":                                    "needs a value",
		"bob.rely=--listen=:9009":                      "unknown appliance setting",
		"bob.ip=1.2.3.4/24 bob.ip=dhcp bob.gw=1.2.3.1": "only for a static",
		"bob.ip=x bob.gw=y":                            "bob.gw=y",
	}
	for in, want := range tests {
		_, err := ParseCmdline(in)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseCmdline(%q) error = %v, want one containing %q", in, err, want)
		}
	}
	if _, err := ParseCmdline(strings.Repeat("x", maxCmdline+1)); err == nil {
		t.Error("ParseCmdline accepted an oversized command line")
	}
}

func FuzzParseCmdline(f *testing.F) {
	f.Add("console=ttyS0 panic=-1 quiet bob.ip=dhcp bob.relay=--listen=:9009,--metrics=:9100")
	f.Add(`bob.ip=10.0.2.15/24 bob.gw=10.0.2.2 "bob.arg=--password=a b" bob.iface=eth1`)
	f.Add(`"unterminated bob.relay="x,y`)
	f.Fuzz(func(t *testing.T, s string) {
		params := SplitCmdline(s)
		for _, p := range params {
			if p.Key == "" && !p.HasValue {
				t.Errorf("empty parameter from %q", s)
			}
		}
		c, err := ParseCmdline(s)
		if err != nil {
			return
		}
		if !validInterfaceName(c.Interface) {
			t.Errorf("accepted interface %q", c.Interface)
		}
		if c.Gateway.IsValid() && c.DHCP() {
			t.Errorf("accepted a gateway with DHCP from %q", s)
		}
		if slices.Contains(c.RelayArgs, "") {
			t.Errorf("empty relay argument from %q", s)
		}
	})
}

func TestRestrictMetrics(t *testing.T) {
	gw := netip.MustParseAddr("10.0.2.2")
	for _, c := range []struct {
		args []string
		gw   netip.Addr
		want []string
	}{
		{[]string{"--listen=:9009", "--metrics=:9100"}, gw,
			[]string{"--listen=:9009", "--metrics=:9100", "--metrics-from=127.0.0.0/8,::1/128,10.0.2.2/32"}},
		{[]string{"--metrics", ":9100"}, netip.Addr{},
			[]string{"--metrics", ":9100", "--metrics-from=127.0.0.0/8,::1/128"}},
		{[]string{"--metrics=:9100", "--metrics-from=192.0.2.0/24"}, gw,
			[]string{"--metrics=:9100", "--metrics-from=192.0.2.0/24"}},
		{[]string{"--listen=:9009"}, gw, []string{"--listen=:9009"}},
	} {
		if got := RestrictMetrics(c.args, c.gw); !slices.Equal(got, c.want) {
			t.Errorf("RestrictMetrics(%q, %v) = %q, want %q", c.args, c.gw, got, c.want)
		}
	}
}
