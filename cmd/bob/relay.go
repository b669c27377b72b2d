package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/time/rate"

	"github.com/bob-p2p/bob/relay"
	"github.com/bob-p2p/bob/relay/rendezvous"
)

// relayFlags are the settings of bob relay.
type relayFlags struct {
	listen, metrics      string
	logLevel, logFormat  string
	password             string
	adminToken           string // from $BOB_RELAY_ADMIN_TOKEN
	adminTokenFile       string
	metricsFrom          []string
	maxConns, maxWaiting int
	maxConnsPerIP, burst int
	maxPer56, maxPer48   int
	rate                 float64
	waitingRate          float64
	waitingBurst         int
	helloTimeout         time.Duration
	waitTimeout          time.Duration
	idleTimeout          time.Duration
	shutdownGrace        time.Duration
	cluster              clusterFlags
}

func newRelayCmd(e *env) *cobra.Command {
	d := relay.DefaultConfig()
	f := relayFlags{}
	cmd := &cobra.Command{
		Use:   "relay",
		Short: "Run a relay that pairs peers and forwards their encrypted bytes",
		Long: `Run a relay that pairs peers and forwards their encrypted bytes.

The relay hands each sender a nameplate (the number at the start of a code),
pairs it with the receiver that claims it, and forwards bytes between them
that it cannot read. A limit set to 0 is turned off.

The password may also be given in $BOB_RELAY_PASSWORD, which keeps it out of
the process list. With --cluster, several relays share one code space
through NATS JetStream (see docs/relay.md); the cluster secret comes from
$BOB_CLUSTER_SECRET or --cluster-secret-file. SIGINT or SIGTERM shuts the
relay down gracefully; SIGUSR1 toggles debug logging, as does PUT /loglevel
on the metrics address: from loopback, or from anywhere with the admin
token ($BOB_RELAY_ADMIN_TOKEN or --admin-token-file) as
"Authorization: Bearer TOKEN".`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usageError{fmt.Errorf("bob relay takes no arguments, got \"%s\"", args[0])}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !cmd.Flags().Changed("password") {
				f.password = e.getenv("BOB_RELAY_PASSWORD")
			}
			f.adminToken = e.getenv("BOB_RELAY_ADMIN_TOKEN")
			return runRelay(cmd.Context(), e, f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.listen, "listen", ":"+strconv.Itoa(rendezvous.DefaultPort), "address to listen on (IPv4 and IPv6 unless a host is given)")
	fl.StringVar(&f.metrics, "metrics", "", "address to serve Prometheus /metrics and /loglevel on (off if empty)")
	fl.StringSliceVar(&f.metricsFrom, "metrics-from", nil, "serve metrics only to these networks (CIDR, comma-separated; default anyone who reaches --metrics)")
	fl.StringVar(&f.adminTokenFile, "admin-token-file", "", "file holding the token that allows changing /loglevel from elsewhere than loopback (or $BOB_RELAY_ADMIN_TOKEN)")
	fl.StringVar(&f.logLevel, "log-level", "info", "log level: debug, info, warn or error")
	fl.StringVar(&f.logFormat, "log-format", "text", "log format: text or json")
	fl.StringVar(&f.password, "password", "", "serve only clients that know this password (or $BOB_RELAY_PASSWORD)")
	fl.IntVar(&f.maxConns, "max-conns", d.MaxConns, "most connections served at once")
	fl.IntVar(&f.maxWaiting, "max-waiting", d.MaxWaiting, "most senders waiting for a receiver at once")
	fl.IntVar(&f.maxConnsPerIP, "max-conns-per-ip", d.MaxConnsPerIP, "most connections from one IPv4 address or IPv6 /64 at once")
	fl.Float64Var(&f.rate, "rate", float64(d.PerIPRate), "new connections per second allowed from one address, on average")
	fl.IntVar(&f.burst, "burst", d.PerIPBurst, "new connections allowed from one address in a burst")
	fl.IntVar(&f.maxPer56, "max-conns-per-56", d.MaxConnsPer56, "most connections from one IPv6 /56 at once")
	fl.IntVar(&f.maxPer48, "max-conns-per-48", d.MaxConnsPer48, "most connections from one IPv6 /48 at once")
	fl.Float64Var(&f.waitingRate, "waiting-rate", float64(d.WaitingRate), "new waiting senders per second allowed relay-wide, on average")
	fl.IntVar(&f.waitingBurst, "waiting-burst", d.WaitingBurst, "new waiting senders allowed relay-wide in a burst")
	fl.DurationVar(&f.helloTimeout, "hello-timeout", d.HelloTimeout, "time a client has to say what it wants")
	fl.DurationVar(&f.waitTimeout, "wait-timeout", d.WaitTimeout, "time a sender may wait for its receiver")
	fl.DurationVar(&f.idleTimeout, "idle-timeout", d.IdleTimeout, "time a pair may go without sending a byte")
	fl.DurationVar(&f.shutdownGrace, "shutdown-grace", d.ShutdownGrace, "time pairs may go on after a shutdown signal")
	f.cluster.register(fl)
	return cmd
}

func (f relayFlags) config() (relay.Config, error) {
	cfg := relay.Config{
		MaxConns:      offIfZero(f.maxConns),
		MaxWaiting:    offIfZero(f.maxWaiting),
		MaxConnsPerIP: offIfZero(f.maxConnsPerIP),
		PerIPRate:     rate.Limit(f.rate),
		PerIPBurst:    f.burst,
		MaxConnsPer56: offIfZero(f.maxPer56),
		MaxConnsPer48: offIfZero(f.maxPer48),
		WaitingRate:   rate.Limit(f.waitingRate),
		WaitingBurst:  offIfZero(f.waitingBurst),
		HelloTimeout:  f.helloTimeout,
		WaitTimeout:   f.waitTimeout,
		IdleTimeout:   f.idleTimeout,
		ShutdownGrace: f.shutdownGrace,
		Password:      f.password,
	}
	if f.rate == 0 || f.burst == 0 {
		cfg.PerIPRate = rate.Inf
	}
	if f.waitingRate == 0 {
		cfg.WaitingRate = rate.Inf
	}
	for _, c := range []struct {
		name string
		n    int
	}{{"--max-conns", f.maxConns}, {"--max-waiting", f.maxWaiting}, {"--max-conns-per-ip", f.maxConnsPerIP}, {"--burst", f.burst},
		{"--max-conns-per-56", f.maxPer56}, {"--max-conns-per-48", f.maxPer48}, {"--waiting-burst", f.waitingBurst}} {
		if c.n < 0 {
			return cfg, usageError{fmt.Errorf("%s must not be negative", c.name)}
		}
	}
	if f.rate < 0 || f.waitingRate < 0 {
		return cfg, usageError{errors.New("--rate and --waiting-rate must not be negative")}
	}
	for _, m := range f.metricsFrom {
		p, err := netip.ParsePrefix(m)
		if err != nil {
			ip, aerr := netip.ParseAddr(m)
			if aerr != nil {
				return cfg, usageError{fmt.Errorf("--metrics-from \"%s\": want a network such as 10.0.2.2/32 or an address", m)}
			}
			p = netip.PrefixFrom(ip, ip.BitLen())
		}
		cfg.MetricsFrom = append(cfg.MetricsFrom, p.Masked())
	}
	for _, d := range []struct {
		name string
		d    time.Duration
	}{{"--hello-timeout", f.helloTimeout}, {"--wait-timeout", f.waitTimeout}, {"--idle-timeout", f.idleTimeout}, {"--shutdown-grace", f.shutdownGrace}} {
		if d.d <= 0 {
			return cfg, usageError{fmt.Errorf("%s must be positive", d.name)}
		}
	}
	return cfg, nil
}

// offIfZero maps the flag's "0 turns it off" to the Config's negative.
func offIfZero(n int) int {
	if n == 0 {
		return -1
	}
	return n
}

func runRelay(ctx context.Context, e *env, f relayFlags) error {
	cfg, err := f.config()
	if err != nil {
		return err
	}
	if f.adminTokenFile != "" {
		b, err := os.ReadFile(f.adminTokenFile)
		if err != nil {
			return fmt.Errorf("reading the admin token: %w", err)
		}
		f.adminToken = strings.TrimSpace(string(b))
		if f.adminToken == "" {
			return usageError{fmt.Errorf("--admin-token-file %s is empty", f.adminTokenFile)}
		}
	}
	cfg.AdminToken = f.adminToken
	level := new(slog.LevelVar)
	if err := level.UnmarshalText([]byte(f.logLevel)); err != nil {
		return usageError{fmt.Errorf("--log-level \"%s\": use debug, info, warn or error", f.logLevel)}
	}
	opts := &slog.HandlerOptions{Level: level}
	switch f.logFormat {
	case "text":
		cfg.Logger = slog.New(slog.NewTextHandler(e.stderr, opts))
	case "json":
		cfg.Logger = slog.New(slog.NewJSONHandler(e.stderr, opts))
	default:
		return usageError{fmt.Errorf("--log-format \"%s\": use text or json", f.logFormat)}
	}
	cfg.LogLevel = level
	log := cfg.Logger
	// Every connection costs descriptors; the relay derives its connection
	// cap from this limit, so take all the system allows.
	if _, err := relay.RaiseFDLimit(0); err != nil {
		log.Warn("cannot raise the open-file limit", "err", err)
	}

	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", f.listen)
	if err != nil {
		return fmt.Errorf("relay cannot listen: %w", err)
	}
	startCluster, err := f.cluster.join(ctx, e, &cfg, log)
	if err != nil {
		ln.Close()
		return err
	}
	srv := relay.New(cfg)
	defer startCluster(srv)() // after Serve: every nameplate is released by then

	if f.metrics != "" {
		mln, err := lc.Listen(ctx, "tcp", f.metrics)
		if err != nil {
			ln.Close()
			return fmt.Errorf("relay cannot serve metrics: %w", err)
		}
		hs := &http.Server{
			Handler:           srv.MetricsHandler(),
			ReadHeaderTimeout: 10 * time.Second,
			ReadTimeout:       30 * time.Second,
			WriteTimeout:      30 * time.Second,
			IdleTimeout:       2 * time.Minute,
		}
		log.Info("serving metrics", "addr", mln.Addr().String())
		metricsDone := make(chan struct{})
		go func() {
			defer close(metricsDone)
			if err := hs.Serve(mln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				log.Error("metrics server stopped", "err", err)
			}
		}()
		defer func() {
			sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			hs.Shutdown(sctx) //nolint:errcheck // best effort at exit
			hs.Close()        //nolint:errcheck // cut what Shutdown left
			<-metricsDone
		}()
	}

	stopSignals := toggleDebugOnSignal(level, log)
	defer stopSignals()

	if err := srv.Serve(ctx, ln); err != nil {
		return fmt.Errorf("relay stopped: %w", err)
	}
	return nil
}
