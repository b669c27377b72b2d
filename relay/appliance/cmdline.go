package appliance

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
)

// Config is what the kernel command line asks of the appliance.
type Config struct {
	// Interface is the network interface to configure.
	Interface string
	// Address is the static address and prefix; the zero Prefix means DHCP.
	Address netip.Prefix
	// Gateway is the default route for a static address; it may be unset.
	Gateway netip.Addr
	// RelayArgs are the flags for `bob relay`, in command-line order.
	RelayArgs []string
}

// DHCP reports whether the interface is configured by DHCP.
func (c Config) DHCP() bool { return !c.Address.IsValid() }

// DefaultInterface is the interface configured unless bob.iface says otherwise.
const DefaultInterface = "eth0"

// maxCmdline bounds what is parsed; Linux itself caps x86 command lines at 2 KiB.
const maxCmdline = 64 << 10

// Param is one word of a kernel command line.
type Param struct {
	Key   string
	Value string
	// HasValue tells "key=" (empty value) from a bare "key".
	HasValue bool
}

// SplitCmdline splits a kernel command line into parameters the way Linux
// does: words are separated by white space, double quotes group white space
// into a word and are removed around a value or a whole word.
func SplitCmdline(s string) []Param {
	var params []Param
	for {
		s = strings.TrimLeft(s, " \t\n\r\v\f")
		if s == "" {
			return params
		}
		quoted := false
		if s[0] == '"' {
			s = s[1:]
			quoted = true
		}
		inQuote := quoted
		equals := -1
		i := 0
		for ; i < len(s); i++ {
			c := s[i]
			if isSpace(c) && !inQuote {
				break
			}
			if equals < 0 && c == '=' {
				equals = i
			}
			if c == '"' {
				inQuote = !inQuote
			}
		}
		word := s[:i]
		s = s[i:]
		var p Param
		if equals < 0 {
			p.Key = word
			if quoted {
				p.Key = strings.TrimSuffix(p.Key, `"`)
			}
		} else {
			p.Key, p.Value, p.HasValue = word[:equals], word[equals+1:], true
			if strings.HasPrefix(p.Value, `"`) {
				p.Value = strings.TrimSuffix(p.Value[1:], `"`)
			} else if quoted {
				p.Value = strings.TrimSuffix(p.Value, `"`)
			}
		}
		if p.Key == "" && !p.HasValue {
			continue // a lone pair of quotes
		}
		params = append(params, p)
	}
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'
}

// ParseCmdline reads the appliance's settings (the bob.* parameters) from a
// kernel command line, ignoring every other parameter. An unknown bob.*
// setting is an error, so that a typo does not silently change nothing.
func ParseCmdline(cmdline string) (Config, error) {
	if len(cmdline) > maxCmdline {
		return Config{}, fmt.Errorf("kernel command line is %d bytes, over the %d-byte limit", len(cmdline), maxCmdline)
	}
	c := Config{Interface: DefaultInterface}
	var errs []error
	for _, p := range SplitCmdline(cmdline) {
		name, ok := strings.CutPrefix(p.Key, "bob.")
		if !ok {
			continue
		}
		if !p.HasValue {
			errs = append(errs, fmt.Errorf("kernel parameter %s needs a value (%s=...)", p.Key, p.Key))
			continue
		}
		if err := c.set(name, p.Value); err != nil {
			errs = append(errs, fmt.Errorf("kernel parameter %s=%s: %w", p.Key, p.Value, err))
		}
	}
	if err := c.check(); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return Config{}, err
	}
	return c, nil
}

func (c *Config) set(name, v string) error {
	switch name {
	case "ip":
		if v == "dhcp" {
			c.Address = netip.Prefix{}
			return nil
		}
		p, err := netip.ParsePrefix(v)
		if err != nil {
			return errors.New(`want "dhcp" or an address with a prefix length, such as 10.0.2.15/24`)
		}
		if p.Addr().Zone() != "" {
			return errors.New("an address zone is not allowed")
		}
		c.Address = p
	case "gw":
		a, err := netip.ParseAddr(v)
		if err != nil || a.Zone() != "" {
			return errors.New("want an IP address, such as 10.0.2.2")
		}
		c.Gateway = a
	case "iface":
		if !validInterfaceName(v) {
			return errors.New("not a valid interface name")
		}
		c.Interface = v
	case "relay":
		for _, a := range strings.Split(v, ",") {
			if a != "" {
				c.RelayArgs = append(c.RelayArgs, a)
			}
		}
	case "arg":
		if v != "" {
			c.RelayArgs = append(c.RelayArgs, v)
		}
	default:
		return errors.New("unknown appliance setting (known: bob.ip, bob.gw, bob.iface, bob.relay, bob.arg)")
	}
	return nil
}

func (c *Config) check() error {
	if !c.Gateway.IsValid() {
		return nil
	}
	if c.DHCP() {
		return errors.New("kernel parameter bob.gw is only for a static bob.ip address; DHCP supplies its own gateway")
	}
	if c.Gateway.Is4() != c.Address.Addr().Is4() {
		return errors.New("kernel parameters bob.ip and bob.gw must both be IPv4 or both IPv6")
	}
	return nil
}

// validInterfaceName follows Linux's dev_valid_name.
func validInterfaceName(s string) bool {
	if s == "" || len(s) >= 16 || s == "." || s == ".." {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] == '/' || s[i] == ':' || isSpace(s[i]) || s[i] < 0x20 || s[i] == 0x7f {
			return false
		}
	}
	return true
}

// RestrictMetrics returns the relay flags with --metrics-from added when
// they serve metrics without saying to whom: the appliance serves them only
// to its own loopback and to host, where a hypervisor's forwarded ports come
// from (10.0.2.2 under qemu's user network), not to the networks the relay
// faces. Flags that set --metrics-from themselves are left alone.
func RestrictMetrics(args []string, host netip.Addr) []string {
	metrics := false
	for _, a := range args {
		name, _, _ := strings.Cut(a, "=")
		switch name {
		case "--metrics-from":
			return args
		case "--metrics":
			metrics = true
		}
	}
	if !metrics {
		return args
	}
	from := "127.0.0.0/8,::1/128"
	if host.IsValid() {
		from += "," + netip.PrefixFrom(host.Unmap(), host.Unmap().BitLen()).String()
	}
	return append(args[:len(args):len(args)], "--metrics-from="+from)
}
