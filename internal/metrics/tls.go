package metrics

import (
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// CertInfo is one certificate the TLS listeners serve.
type CertInfo struct {
	Name     string    // the name it is served for
	Source   string    // "file", "self_signed" or "acme"
	NotAfter time.Time // its expiry
}

// certCollector reports, at scrape time, when each served certificate
// expires, so an alert can fire before a renewal that silently failed
// (ACME) or a file nobody replaced lets clients see an expired one.
type certCollector struct {
	desc *prometheus.Desc
	mu   sync.Mutex
	list func() []CertInfo
}

func (c *certCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *certCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	list := c.list
	c.mu.Unlock()
	if list == nil {
		return
	}
	for _, ci := range list() {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(ci.NotAfter.Unix()), ci.Name, ci.Source)
	}
}

// WatchCertificates reports immp_tls_certificate_expiry_timestamp_seconds
// for every certificate list returns, read at each scrape. Call it once
// per process; a nil m does nothing.
func (m *Metrics) WatchCertificates(list func() []CertInfo) {
	if m == nil {
		return
	}
	m.reg.MustRegister(&certCollector{
		desc: prometheus.NewDesc("immp_tls_certificate_expiry_timestamp_seconds",
			"When a certificate the TLS listeners serve expires (Unix time), by name and source (file, self_signed, acme).",
			[]string{"name", "source"}, nil),
		list: list,
	})
}
