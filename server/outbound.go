package server

import (
	"bytes"
	"context"
	"fmt"
	"net/netip"
	"path/filepath"
	"strings"
	"time"

	"github.com/immp-mail/immp/delivery"
	"github.com/immp-mail/immp/internal/resolver"
	"github.com/immp-mail/immp/msgauth"
	"github.com/immp-mail/immp/outbound"
)

// startOutbound opens the outbound queue under data_dir/queue and starts
// its runner when [outbound] enabled is set; it returns the networks of
// [smtp] trusted_networks for the SMTP servers either way. The queue is
// stopped with the other servers at shutdown (d.servers).
func (d *Server) startOutbound(deliverer *delivery.Deliverer) (*outbound.Queue, []netip.Prefix, error) {
	cfg := d.cfg
	nets, err := cfg.SMTPTrustedPrefixes()
	if err != nil || !cfg.Outbound.Enabled {
		return nil, nets, err
	}
	pw, err := cfg.RelayPassword()
	if err != nil {
		return nil, nil, err
	}
	o := cfg.Outbound
	q, err := outbound.Open(outbound.Options{
		Dir: filepath.Join(cfg.DataDir, "queue"), Hostname: o.Hostname,
		Relay: o.Relay, RelayImplicitTLS: strings.HasSuffix(o.Relay, ":465"), RelayUsername: o.RelayUsername, RelayPassword: pw,
		TLS: o.TLS, Resolver: resolver.New(o.Resolver, 0), MXPort: o.MXPort,
		RetryInitial: time.Duration(o.RetryInitial), MaxAge: time.Duration(o.MaxAge),
		DelayWarning: time.Duration(o.DelayWarning),
		MaxConns:     o.MaxConns, MaxConnsPerDest: o.MaxConnsPerDomain, MessagesPerConn: o.MessagesPerConnect,
		Local: localBounces{deliverer},
		// DKIM (RFC 6376): signed once, at enqueue, with the key of the
		// From domain under data_dir/dkim; a domain without one goes unsigned.
		Signer: msgauth.NewSigner(msgauth.SignerOptions{
			DataDir: cfg.DataDir, Selector: cfg.DKIM.Selector, Headers: cfg.DKIM.Headers,
			Logger: d.log.With("component", "dkim"),
		}),
		Metrics: d.metrics.NewOutbound(),
		Logger:  d.log.With("component", "outbound"),
	})
	if err != nil {
		return nil, nil, fmt.Errorf("outbound: %w", err)
	}
	q.Run()
	d.queue = q
	d.servers = append(d.servers, namedServer{"outbound", q})
	d.log.Info("outbound delivery on", "relay", o.Relay, "tls", o.TLS, "hostname", o.Hostname)
	return q, nets, nil
}

// stopOutbound releases the queue of a server that never ran.
func (d *Server) stopOutbound() {
	if d.queue != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		d.queue.Shutdown(ctx)
	}
}

// localBounces files queued mail for local recipients (bounces to local
// senders) into the recipient's INBOX through the delivery layer.
type localBounces struct{ d *delivery.Deliverer }

func (l localBounces) IsLocal(addr string) bool { return l.d.IsLocal(addr) }

func (l localBounces) DeliverLocal(ctx context.Context, rcpt string, msg []byte) error {
	r, err := l.d.CheckRecipient(ctx, "", rcpt, false)
	if err == nil {
		r.Subinbox = "" // a report about the sender's own mail: the INBOX
		_, err = l.d.Deliver(ctx, delivery.Envelope{
			Sender: "", Recipients: []delivery.Recipient{r}, ClientIP: "127.0.0.1", Helo: l.d.Hostname(),
		}, bytes.NewReader(msg))
	}
	if err != nil {
		if r := delivery.ReasonOf(err); r != 0 && !r.Temporary() {
			return &outbound.LocalError{Permanent: true, Err: err}
		}
		return err
	}
	return nil
}
