package cluster

import "github.com/prometheus/client_golang/prometheus"

// Label values of the cluster's metrics.
const (
	directionTo        = "to"   // a receiver here was forwarded to another node
	directionFrom      = "from" // another node forwarded a receiver here
	outcomeClaimed     = "claimed"
	outcomeTaken       = "taken"
	outcomeUnavailable = "unavailable"
)

type metrics struct {
	connected    prometheus.Gauge
	forwarded    *prometheus.CounterVec
	claims       *prometheus.CounterVec
	claimSeconds prometheus.Histogram
	nodeRefused  prometheus.Counter
	all          []prometheus.Collector
}

func newMetrics() *metrics {
	m := &metrics{
		connected: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "bob_relay_cluster_connected", Help: "1 while the node is connected to NATS, else 0."}),
		forwarded: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bob_relay_cluster_forwarded_total",
			Help: "Receivers forwarded one hop: to another node's sender, or from another node to a sender here."},
			[]string{"direction"}),
		claims: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bob_relay_cluster_claims_total", Help: "Nameplate claims, by outcome."}, []string{"outcome"}),
		claimSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "bob_relay_cluster_claim_seconds",
			Help:    "Time to claim a nameplate in the cluster, successful claims only.",
			Buckets: prometheus.ExponentialBuckets(0.0002, 2, 14)}),
		nodeRefused: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "bob_relay_cluster_node_refused_total", Help: "Connections on the node port that failed the cluster handshake."}),
	}
	for _, d := range []string{directionTo, directionFrom} {
		m.forwarded.WithLabelValues(d)
	}
	for _, o := range []string{outcomeClaimed, outcomeTaken, outcomeUnavailable} {
		m.claims.WithLabelValues(o)
	}
	m.all = []prometheus.Collector{m.connected, m.forwarded, m.claims, m.claimSeconds, m.nodeRefused}
	return m
}

// Describe implements prometheus.Collector, so that a relay registers the
// cluster's metrics with its own.
func (c *Cluster) Describe(ch chan<- *prometheus.Desc) {
	for _, col := range c.m.all {
		col.Describe(ch)
	}
}

// Collect implements prometheus.Collector.
func (c *Cluster) Collect(ch chan<- prometheus.Metric) {
	for _, col := range c.m.all {
		col.Collect(ch)
	}
}
