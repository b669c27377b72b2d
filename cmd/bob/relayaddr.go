package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/spf13/pflag"

	"github.com/bob-p2p/bob/relay/rendezvous"
	"github.com/bob-p2p/bob/session"
)

// config is bob's optional config file, $XDG_CONFIG_HOME/bob/config.json.
type config struct {
	Relay         string `json:"relay"`          // host:port, or several separated by commas
	RelayPassword string `json:"relay_password"` // for a private relay
	Discovery     *bool  `json:"discovery"`      // false: do not announce or look on the local network
	Direct        *bool  `json:"direct"`         // false: keep the data on the relay
}

func configPath(e *env) (string, error) {
	if dir := e.getenv("XDG_CONFIG_HOME"); dir != "" {
		return filepath.Join(dir, "bob", "config.json"), nil
	}
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, "bob", "config.json"), nil
}

func loadConfig(e *env) (config, error) {
	var c config
	path, err := configPath(e)
	if err != nil {
		return c, nil // no config directory: nothing configured
	}
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return c, nil
	}
	if err != nil {
		return c, fmt.Errorf("reading the config file: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields() // a misspelt key must not be ignored silently
	if err := dec.Decode(&c); err != nil {
		if key, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
			return c, fmt.Errorf("the config file %s has an unknown key %s (known: relay, relay_password, discovery, direct)", path, key)
		}
		return c, fmt.Errorf("the config file %s is not valid JSON: %w", path, err)
	}
	if dec.More() {
		return c, fmt.Errorf("the config file %s holds more than one JSON object", path)
	}
	return c, nil
}

// relayChoice is where a peer meets the other one, and how.
type relayChoice struct {
	addrs       []string // candidates, tried at once; the first to answer wins
	password    string
	embedded    bool // no relay configured: the sender runs one inside itself
	noDiscovery bool
	noDirect    bool
}

// pathFlags turn off the local network and direct paths.
type pathFlags struct{ noDiscovery, noDirect bool }

func (p *pathFlags) register(fl *pflag.FlagSet) {
	fl.BoolVar(&p.noDiscovery, "no-discovery", false, "do not announce or look for the other side on the local network (or $BOB_NO_DISCOVERY=1)")
	fl.BoolVar(&p.noDirect, "no-direct", false, "keep the data on the relay, never straight to the other side (or $BOB_NO_DIRECT=1)")
}

// sessionConfig is the session's view of the choice.
func (rc relayChoice) sessionConfig() session.Config {
	return session.Config{Relays: rc.addrs, Password: rc.password, NoDiscovery: rc.noDiscovery, NoDirect: rc.noDirect}
}

// chooseRelay applies the documented order: --relay, then BOB_RELAY, then the
// config file, then the embedded default.
func chooseRelay(e *env, flag, passwordFlag string, paths pathFlags) (relayChoice, error) {
	cfg, err := loadConfig(e)
	if err != nil {
		return relayChoice{}, err
	}
	rc := relayChoice{
		password:    firstNonEmpty(passwordFlag, e.getenv("BOB_RELAY_PASSWORD"), cfg.RelayPassword),
		noDiscovery: paths.noDiscovery || envTrue(e, "BOB_NO_DISCOVERY") || (cfg.Discovery != nil && !*cfg.Discovery),
		noDirect:    paths.noDirect || envTrue(e, "BOB_NO_DIRECT") || (cfg.Direct != nil && !*cfg.Direct),
	}
	spec := firstNonEmpty(flag, e.getenv("BOB_RELAY"), cfg.Relay)
	if spec == "" {
		rc.embedded = true
		return rc, nil
	}
	for _, a := range strings.Split(spec, ",") {
		a = strings.TrimSpace(a)
		if a == "" {
			continue
		}
		if _, _, err := net.SplitHostPort(a); err != nil {
			a = net.JoinHostPort(a, strconv.Itoa(rendezvous.DefaultPort))
		}
		rc.addrs = append(rc.addrs, a)
	}
	if len(rc.addrs) == 0 {
		return rc, usageError{fmt.Errorf("--relay \"%s\" names no address", spec)}
	}
	return rc, nil
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

// envTrue reads a yes/no environment variable: 1, true or yes.
func envTrue(e *env, name string) bool {
	switch strings.ToLower(e.getenv(name)) {
	case "1", "true", "yes":
		return true
	}
	return false
}
