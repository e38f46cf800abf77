package metrics

import (
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Folder kinds for deliveries.
const (
	FolderInbox    = "inbox"
	FolderSubinbox = "subinbox"
	FolderFallback = "fallback_inbox" // subinbox gone, filed into INBOX (draft 2.2.2)
)

// Metrics is one process's set of collectors.
type Metrics struct {
	reg              *prometheus.Registry
	connections      *prometheus.CounterVec
	openConnections  *prometheus.GaugeVec
	refusedConns     *prometheus.CounterVec
	smtpTransactions *prometheus.CounterVec
	deliveries       *prometheus.CounterVec
	guardVerdicts    *prometheus.CounterVec
	immpCommands     *prometheus.CounterVec
	imapCommands     *prometheus.CounterVec
	deliveryLatency  prometheus.Histogram
}

// New builds the collectors and registers them, with the Go runtime and
// process collectors, on a registry of their own.
func New() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		connections: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "immp_connections_total", Help: "Connections accepted, by protocol.",
		}, []string{"protocol"}),
		openConnections: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "immp_connections_open", Help: "Connections open now, by protocol.",
		}, []string{"protocol"}),
		refusedConns: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "immp_connections_refused_total",
			Help: "Connections refused over a cap, by protocol and reason (max_conns, max_conns_per_ip).",
		}, []string{"protocol", "reason"}),
		smtpTransactions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "immp_smtp_transactions_total", Help: "SMTP transactions, by service and outcome.",
		}, []string{"service", "outcome"}),
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "immp_deliveries_total", Help: "Recipient copies filed, by folder kind.",
		}, []string{"folder"}),
		guardVerdicts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "immp_spamguard_verdicts_total", Help: "Spam guard verdicts, by result.",
		}, []string{"verdict"}),
		immpCommands: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "immp_immp_commands_total", Help: "IMMP commands, by name and result (OK, NO, BAD).",
		}, []string{"command", "result"}),
		imapCommands: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "immp_imap_commands_total", Help: "IMAP commands, by name and result.",
		}, []string{"command", "result"}),
		deliveryLatency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "immp_delivery_duration_seconds",
			Help:    "Time from end of DATA to the durable commit of all copies.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16),
		}),
	}
	m.reg.MustRegister(m.connections, m.openConnections, m.refusedConns, m.smtpTransactions, m.deliveries,
		m.guardVerdicts, m.immpCommands, m.imapCommands, m.deliveryLatency,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Handler serves the registry in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	if m == nil {
		return http.NotFoundHandler()
	}
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// Registry is the registry behind Handler, for tests that read values.
func (m *Metrics) Registry() *prometheus.Registry {
	if m == nil {
		return nil
	}
	return m.reg
}

// ConnOpened counts a new connection of protocol ("smtp", "submission",
// "imap", "immp", "http") and returns the function that marks it closed.
func (m *Metrics) ConnOpened(protocol string) (closed func()) {
	if m == nil {
		return func() {}
	}
	m.connections.WithLabelValues(protocol).Inc()
	g := m.openConnections.WithLabelValues(protocol)
	g.Inc()
	return g.Dec
}

// ConnRefused counts a connection of protocol refused for reason (the
// cap it hit: "max_conns" or "max_conns_per_ip").
func (m *Metrics) ConnRefused(protocol, reason string) {
	if m != nil {
		m.refusedConns.WithLabelValues(protocol, reason).Inc()
	}
}

// SMTPTransaction counts one finished transaction; outcome is a short word
// such as "delivered", "rejected", "tempfail", "aborted".
func (m *Metrics) SMTPTransaction(service, outcome string) {
	if m != nil {
		m.smtpTransactions.WithLabelValues(service, outcome).Inc()
	}
}

// Delivered counts one recipient copy filed into a folder of kind (one of
// the Folder constants).
func (m *Metrics) Delivered(kind string) {
	if m != nil {
		m.deliveries.WithLabelValues(kind).Inc()
	}
}

// DeliveryLatency records the time one commit took.
func (m *Metrics) DeliveryLatency(d time.Duration) {
	if m != nil {
		m.deliveryLatency.Observe(d.Seconds())
	}
}

// GuardVerdict counts one spam guard verdict: "allowed", "blocked",
// "no_account" or "undecided".
func (m *Metrics) GuardVerdict(verdict string) {
	if m != nil {
		m.guardVerdicts.WithLabelValues(verdict).Inc()
	}
}

// IMMPCommand counts one IMMP command outcome; result is OK, NO or BAD.
func (m *Metrics) IMMPCommand(command, result string) {
	if m != nil {
		m.immpCommands.WithLabelValues(command, result).Inc()
	}
}

// IMAPCommand counts one IMAP command outcome.
func (m *Metrics) IMAPCommand(command, result string) {
	if m != nil {
		m.imapCommands.WithLabelValues(command, result).Inc()
	}
}
