package metrics

import (
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Destination classes of outbound deliveries.
const (
	OutboundMX    = "mx"    // a recipient domain's MX (or its A/AAAA)
	OutboundRelay = "relay" // the smarthost, [outbound] relay
	OutboundLocal = "local" // a bounce filed into a local sender's INBOX
)

// Outbound is the outbound queue's collectors: queue length and oldest
// age (read from the queue at scrape time), and delivery attempts per
// recipient by result and destination class.
type Outbound struct {
	mu         sync.Mutex
	stats      func() (int, time.Duration)
	deliveries *prometheus.CounterVec
}

// NewOutbound registers the outbound collectors on m's registry; call it
// once per process. A nil m gives a nil *Outbound, whose methods do
// nothing.
func (m *Metrics) NewOutbound() *Outbound {
	if m == nil {
		return nil
	}
	o := &Outbound{
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "immp_outbound_deliveries_total",
			Help: "Outbound delivery outcomes per recipient, by result (sent, deferred, bounced, expired) and destination class (mx, relay, local).",
		}, []string{"result", "class"}),
	}
	read := func() (int, time.Duration) {
		o.mu.Lock()
		f := o.stats
		o.mu.Unlock()
		if f == nil {
			return 0, 0
		}
		return f()
	}
	m.reg.MustRegister(o.deliveries,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "immp_outbound_queue_messages", Help: "Messages in the outbound queue.",
		}, func() float64 { n, _ := read(); return float64(n) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "immp_outbound_queue_oldest_seconds", Help: "Age of the oldest message in the outbound queue (0 when empty).",
		}, func() float64 { _, a := read(); return a.Seconds() }),
	)
	return o
}

// Watch sets where the queue gauges read from.
func (o *Outbound) Watch(stats func() (int, time.Duration)) {
	if o == nil {
		return
	}
	o.mu.Lock()
	o.stats = stats
	o.mu.Unlock()
}

// Delivery counts one recipient's attempt outcome.
func (o *Outbound) Delivery(result, class string) {
	if o != nil {
		o.deliveries.WithLabelValues(result, class).Inc()
	}
}
