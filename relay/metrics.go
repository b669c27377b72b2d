package relay

import (
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Reasons a connection is refused, as the reason label of
// bob_relay_rejected_total.
const (
	reasonFull             = "full"
	reasonPerIP            = "per_ip"
	reasonRate             = "rate"
	reasonPer56            = "per_56"
	reasonPer48            = "per_48"
	reasonWaitingRate      = "waiting_rate"
	reasonWaitingFull      = "waiting_full"
	reasonBadHello         = "bad_hello"
	reasonVersion          = "version"
	reasonBadPassword      = "bad_password"
	reasonUnknownNameplate = "unknown_nameplate"
	reasonNameplateTaken   = "nameplate_taken"
	reasonAlreadyClaimed   = "already_claimed"
	reasonShuttingDown     = "shutting_down"
)

// How much an ended pair forwarded, as the kind label of
// bob_relay_pairs_ended_total. The relay cannot read the stream; peers that
// go direct close their relay connection after a few kB of handshake, so
// a pair under introducedMax bytes in all is one the relay only introduced.
const (
	kindIntroduced = "introduced"
	kindRelayed    = "relayed"
	introducedMax  = 64 << 10
)

// Phases in which a connection can time out, as the phase label of
// bob_relay_timeouts_total.
const (
	phaseHello   = "hello"
	phaseWaiting = "waiting"
	phaseIdle    = "idle"
)

type metrics struct {
	connections prometheus.Gauge
	waiting     prometheus.Gauge
	pairs       prometheus.Gauge
	bytes       prometheus.Counter
	pairings    prometheus.Counter
	pairsEnded  *prometheus.CounterVec
	rejected    *prometheus.CounterVec
	timeouts    *prometheus.CounterVec
}

func newMetrics(reg *prometheus.Registry) *metrics {
	m := &metrics{
		connections: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "bob_relay_connections", Help: "Connections open now, in every phase."}),
		waiting: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "bob_relay_waiting", Help: "Senders waiting for a receiver now."}),
		pairs: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "bob_relay_pairs", Help: "Pairs forwarding now."}),
		bytes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "bob_relay_bytes_total", Help: "Bytes forwarded, both directions."}),
		pairings: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "bob_relay_pairings_total", Help: "Senders and receivers paired."}),
		pairsEnded: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bob_relay_pairs_ended_total",
			Help: "Pairs ended, by what they forwarded in all: introduced (under 64 KiB: the peers only met here) or relayed."},
			[]string{"kind"}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bob_relay_rejected_total", Help: "Connections refused, by reason."}, []string{"reason"}),
		timeouts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bob_relay_timeouts_total", Help: "Connections dropped for a timeout, by phase."}, []string{"phase"}),
	}
	for _, r := range []string{reasonFull, reasonPerIP, reasonRate, reasonPer56, reasonPer48,
		reasonWaitingFull, reasonWaitingRate, reasonBadHello,
		reasonVersion, reasonBadPassword, reasonUnknownNameplate, reasonNameplateTaken,
		reasonAlreadyClaimed, reasonShuttingDown} {
		m.rejected.WithLabelValues(r)
	}
	m.pairsEnded.WithLabelValues(kindIntroduced)
	m.pairsEnded.WithLabelValues(kindRelayed)
	for _, p := range []string{phaseHello, phaseWaiting, phaseIdle} {
		m.timeouts.WithLabelValues(p)
	}
	reg.MustRegister(m.connections, m.waiting, m.pairs, m.bytes, m.pairings, m.pairsEnded, m.rejected, m.timeouts,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Registry returns the server's own metrics registry, which also holds the
// Go runtime and process collectors.
func (s *Server) Registry() *prometheus.Registry { return s.reg }

// MetricsHandler serves /metrics, and /loglevel: GET shows the log level,
// PUT or POST with a level name (debug, info, warn, error) in the body
// changes it while the relay runs. A change needs Config.AdminToken as a
// bearer token, or, without a token configured, a client on loopback.
// With Config.MetricsFrom set, clients outside it get 403 on every path.
func (s *Server) MetricsHandler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(s.reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("/loglevel", s.serveLogLevel)
	if len(s.cfg.MetricsFrom) == 0 {
		return mux
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ip := requestIP(r)
		for _, p := range s.cfg.MetricsFrom {
			if p.Contains(ip) {
				mux.ServeHTTP(w, r)
				return
			}
		}
		http.Error(w, "metrics are not served to this address", http.StatusForbidden)
	})
}

// requestIP is the address r came from, IPv4-mapped ones as IPv4.
func requestIP(r *http.Request) netip.Addr {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	ip, _ := netip.ParseAddr(host)
	return ip.Unmap()
}

// mayChangeLevel reports whether r may change the log level, or why not.
// Anyone who can reach the metrics address could otherwise turn on debug
// logs, which name every client's address and nameplate.
func (s *Server) mayChangeLevel(r *http.Request) (ok bool, why string) {
	if s.cfg.AdminToken == "" {
		if requestIP(r).IsLoopback() {
			return true, ""
		}
		return false, "changing the log level is allowed only from loopback; set an admin token to allow it from elsewhere"
	}
	got, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	gotSum, wantSum := sha256.Sum256([]byte(got)), sha256.Sum256([]byte(s.cfg.AdminToken))
	if subtle.ConstantTimeCompare(gotSum[:], wantSum[:]) == 1 {
		return true, ""
	}
	return false, "changing the log level needs the admin token: Authorization: Bearer TOKEN"
}

func (s *Server) serveLogLevel(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet, http.MethodHead:
	case http.MethodPut, http.MethodPost:
		if ok, why := s.mayChangeLevel(r); !ok {
			http.Error(w, why, http.StatusForbidden)
			return
		}
		body, err := io.ReadAll(io.LimitReader(r.Body, 64))
		if err != nil {
			http.Error(w, "reading the request: "+err.Error(), http.StatusBadRequest)
			return
		}
		var l slog.Level
		if err := l.UnmarshalText([]byte(strings.TrimSpace(string(body)))); err != nil {
			http.Error(w, "unknown log level; use debug, info, warn or error", http.StatusBadRequest)
			return
		}
		old := s.cfg.LogLevel.Level()
		s.cfg.LogLevel.Set(l)
		s.log.Info("log level changed", "from", old, "to", l)
	default:
		w.Header().Set("Allow", "GET, PUT, POST")
		http.Error(w, "use GET to read the log level, PUT to set it", http.StatusMethodNotAllowed)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	fmt.Fprintln(w, s.cfg.LogLevel.Level())
}
