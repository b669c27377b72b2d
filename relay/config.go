package relay

import (
	"log/slog"
	"net/netip"
	"time"

	"golang.org/x/time/rate"
)

// Config holds a relay's limits. A zero field takes its value from
// [DefaultConfig]; a negative count limit (or rate.Inf for PerIPRate or
// WaitingRate) turns that limit off.
type Config struct {
	// MaxConns caps the connections served at once, in every phase. The
	// relay lowers it to what MaxFDs allows.
	MaxConns int
	// MaxFDs is how many file descriptors the process may hold: 0 reads
	// RLIMIT_NOFILE when the relay is created, a negative value leaves the
	// connection cap to MaxConns alone.
	MaxFDs int
	// MaxWaiting caps the senders waiting for a receiver (open nameplates
	// that are not yet paired).
	MaxWaiting int
	// MaxConnsPerIP caps the connections from one IPv4 address or one IPv6
	// /64 at once.
	MaxConnsPerIP int
	// PerIPRate and PerIPBurst limit how fast one address may connect.
	PerIPRate  rate.Limit
	PerIPBurst int
	// MaxConnsPer56 and MaxConnsPer48 cap the connections at once from one
	// IPv6 /56 and one /48: a home or a site holds many /64s.
	MaxConnsPer56 int
	MaxConnsPer48 int
	// WaitingRate and WaitingBurst limit how fast new senders may start
	// waiting, relay-wide (rate.Inf or a negative burst: no limit).
	WaitingRate  rate.Limit
	WaitingBurst int

	// HelloTimeout is how long a client has to send its hello.
	HelloTimeout time.Duration
	// WaitTimeout is how long a sender waits for a receiver.
	WaitTimeout time.Duration
	// IdleTimeout ends a pair after this long without a byte either way.
	IdleTimeout time.Duration
	// ShutdownGrace is how long active pairs may go on after shutdown
	// begins before they are cut.
	ShutdownGrace time.Duration

	// Password, if set, makes the relay private: hellos must carry it.
	Password string

	// AdminToken, if set, is the bearer token a client must send to change
	// the log level; if empty only loopback clients may change it.
	AdminToken string
	// MetricsFrom, if set, are the networks MetricsHandler serves; others
	// get 403.
	MetricsFrom []netip.Prefix
	// Cluster, if set, shares nameplates with other relay nodes (see
	// package relay/cluster); nil runs a standalone relay.
	Cluster Cluster

	// Logger receives the relay's logs; nil discards them.
	Logger *slog.Logger
	// LogLevel, if set, is the level variable Logger's handler uses, so that
	// MetricsHandler can show and change it while the relay runs.
	LogLevel *slog.LevelVar
}

// DefaultConfig returns limits fit for a public relay on a small machine.
func DefaultConfig() Config {
	return Config{
		MaxConns:      8192,
		MaxWaiting:    2048,
		MaxConnsPerIP: 64,
		PerIPRate:     2,
		PerIPBurst:    32,
		MaxConnsPer56: 128,
		MaxConnsPer48: 512,
		WaitingRate:   50,
		WaitingBurst:  500,
		HelloTimeout:  10 * time.Second,
		WaitTimeout:   15 * time.Minute,
		IdleTimeout:   10 * time.Minute,
		ShutdownGrace: 30 * time.Second,
	}
}

func (c Config) withDefaults() Config {
	d := DefaultConfig()
	setInt := func(v *int, def int) {
		if *v == 0 {
			*v = def
		}
	}
	setDur := func(v *time.Duration, def time.Duration) {
		if *v <= 0 {
			*v = def
		}
	}
	setInt(&c.MaxConns, d.MaxConns)
	setInt(&c.MaxWaiting, d.MaxWaiting)
	setInt(&c.MaxConnsPerIP, d.MaxConnsPerIP)
	setInt(&c.PerIPBurst, d.PerIPBurst)
	setInt(&c.MaxConnsPer56, d.MaxConnsPer56)
	setInt(&c.MaxConnsPer48, d.MaxConnsPer48)
	setInt(&c.WaitingBurst, d.WaitingBurst)
	if c.PerIPRate == 0 {
		c.PerIPRate = d.PerIPRate
	}
	if c.WaitingRate == 0 {
		c.WaitingRate = d.WaitingRate
	}
	setDur(&c.HelloTimeout, d.HelloTimeout)
	setDur(&c.WaitTimeout, d.WaitTimeout)
	setDur(&c.IdleTimeout, d.IdleTimeout)
	setDur(&c.ShutdownGrace, d.ShutdownGrace)
	if c.LogLevel == nil {
		c.LogLevel = new(slog.LevelVar)
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}
