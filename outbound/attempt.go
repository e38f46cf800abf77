package outbound

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	gosmtp "github.com/emersion/go-smtp"

	"github.com/immp-mail/immp/internal/metrics"
)

// outcome is one recipient's result of one attempt.
type outcome struct {
	sent   bool
	perm   bool   // permanent failure (5xx, null MX, no such domain)
	reply  string // the reply as the next hop said it, or what went wrong
	status string // RFC 3463 status for the DSN, e.g. "5.1.1"
	host   string // "mx.example.org[192.0.2.1]:25", or "none"
	mta    string // the next hop's name, for the DSN's Remote-MTA
}

func temp(status, format string, args ...any) *outcome {
	return &outcome{reply: fmt.Sprintf(format, args...), status: status, host: "none"}
}

func permanent(status, format string, args ...any) *outcome {
	return &outcome{perm: true, reply: fmt.Sprintf(format, args...), status: status, host: "none"}
}

// replyOutcome classifies an SMTP reply (RFC 5321 4.2.1): 5yz is
// permanent, anything else that is not 2yz temporary.
func replyOutcome(err error, c *client) outcome {
	o := outcome{host: c.host, mta: c.mta}
	var se *gosmtp.SMTPError
	if errors.As(err, &se) {
		o.perm = se.Code/100 == 5
		ec := se.EnhancedCode
		if ec == (gosmtp.EnhancedCode{}) || ec == gosmtp.NoEnhancedCode {
			o.status = fmt.Sprintf("%d.0.0", se.Code/100)
			o.reply = fmt.Sprintf("%d %s", se.Code, oneLine(se.Message))
		} else {
			o.status = fmt.Sprintf("%d.%d.%d", ec[0], ec[1], ec[2])
			o.reply = fmt.Sprintf("%d %s %s", se.Code, o.status, oneLine(se.Message))
		}
		if o.status[0] != '4' && o.status[0] != '5' { // a 4xx with a 5.x.x code, or nonsense
			o.status = fmt.Sprintf("%d.0.0", se.Code/100)
		}
		if !o.perm && o.status[0] == '5' {
			o.status = "4" + o.status[1:]
		}
		return o
	}
	o.status = "4.4.2"
	o.reply = "lost connection: " + oneLine(fmt.Sprint(err))
	return o
}

func oneLine(s string) string {
	s = strings.ReplaceAll(s, "\r", "")
	s = strings.ReplaceAll(s, "\n", " ")
	if len(s) > 400 {
		s = s[:400]
	}
	return s
}

// worker delivers a destination's ready items, reusing its connection
// for up to MessagesPerConn messages.
func (q *Queue) worker(key string) {
	defer q.wg.Done()
	defer q.workerDone(key)
	var c *client
	defer func() { c.quit() }()
	for q.ctx.Err() == nil {
		it := q.take(key)
		if it == nil {
			return
		}
		var stop bool
		if c, stop = q.attempt(c, it); stop {
			return
		}
	}
}

func (q *Queue) class(dest string) string {
	switch dest {
	case destLocal:
		return metrics.OutboundLocal
	case destRelay:
		return metrics.OutboundRelay
	}
	return metrics.OutboundMX
}

// attempt tries one item over c (nil: connect first) and returns the
// connection to reuse, or nil; stop ends the worker (its destination
// takes no more connections now).
func (q *Queue) attempt(c *client, it *item) (_ *client, stop bool) {
	start := time.Now()
	if it.dest == destLocal {
		q.finish(it, q.deliverLocal(it), start)
		return c, false
	}
	if c != nil && c.sent >= q.opts.MessagesPerConn {
		c.quit()
		c = nil
	}
	if c == nil {
		var fail *outcome
		c, fail = q.connect(q.ctx, it.dest)
		if fail != nil && q.ctx.Err() == nil && q.connFailed(it) {
			q.log.Info("destination refuses more connections; fewer for now",
				"destination", it.dest, "reply", fail.reply)
			return nil, true
		}
		if fail != nil {
			// The destination cannot be reached now: every ready item
			// of it waits (RFC 5321 4.5.4.1), not only this one.
			for _, x := range append([]*item{it}, q.takeAll(it.dest)...) {
				outs := make([]outcome, len(x.rcpts))
				for i := range outs {
					outs[i] = *fail
				}
				q.finish(x, outs, start)
			}
			return nil, false
		}
	}
	outs, ok := q.send(c, it)
	q.finish(it, outs, start)
	if !ok {
		c.quit()
		return nil, false
	}
	q.connWorked(it.dest)
	return c, false
}

// send runs one transaction for it over c; ok false means the
// connection is no longer usable.
func (q *Queue) send(c *client, it *item) ([]outcome, bool) {
	env := it.m.env
	outs := make([]outcome, len(it.rcpts))
	all := func(o outcome) []outcome {
		for i := range outs {
			outs[i] = o
		}
		return outs
	}
	// RFC 1870: a message over the announced SIZE would be refused.
	if max, ok := c.smtp.MaxMessageSize(); ok && max > 0 && env.Size > int64(max) {
		o := *permanent("5.3.4", "message size %d exceeds the limit %d of %s", env.Size, max, c.mta)
		o.host, o.mta = c.host, c.mta
		return all(o), true
	}
	if env.UTF8 {
		if ok, _ := c.smtp.Extension("SMTPUTF8"); !ok { // RFC 6531 3.2
			o := *permanent("5.6.7", "%s does not support SMTPUTF8, which the message needs", c.mta)
			o.host, o.mta = c.host, c.mta
			return all(o), true
		}
	}
	f, err := os.Open(q.path(env.ID))
	if err != nil {
		return all(*temp("4.3.0", "cannot read the queue file: %v", err)), true
	}
	defer f.Close()
	rcpts := make([]string, len(it.rcpts))
	it.m.mu.Lock()
	for i, ri := range it.rcpts {
		rcpts[i] = it.m.st[ri].Addr
	}
	it.m.mu.Unlock()
	res, err := c.smtp.SendPipelined(env.Sender, &gosmtp.MailOptions{Size: env.Size, UTF8: env.UTF8},
		rcpts, io.NewSectionReader(f, it.m.off, env.Size))
	if err != nil {
		return all(replyOutcome(err, c)), false
	}
	c.sent++
	for i := range outs {
		switch {
		case res.Mail != nil:
			outs[i] = replyOutcome(res.Mail, c)
		case res.Rcpts[i] != nil:
			outs[i] = replyOutcome(res.Rcpts[i], c)
		case res.Data != nil:
			outs[i] = replyOutcome(res.Data, c)
		default:
			outs[i] = outcome{sent: true, reply: "250 " + oneLine(res.DataText), status: "2.0.0", host: c.host, mta: c.mta}
		}
	}
	return outs, true
}

// deliverLocal files a queued message (a bounce) for local recipients.
func (q *Queue) deliverLocal(it *item) []outcome {
	outs := make([]outcome, len(it.rcpts))
	f, err := os.Open(q.path(it.m.env.ID))
	var msg []byte
	if err == nil {
		msg = make([]byte, it.m.env.Size)
		_, err = f.ReadAt(msg, it.m.off)
		f.Close()
	}
	for i, ri := range it.rcpts {
		if err != nil {
			outs[i] = *temp("4.3.0", "cannot read the queue file: %v", err)
			continue
		}
		it.m.mu.Lock()
		addr := it.m.st[ri].Addr
		it.m.mu.Unlock()
		derr := q.opts.Local.DeliverLocal(q.ctx, addr, msg)
		var le *LocalError
		switch {
		case derr == nil:
			outs[i] = outcome{sent: true, reply: "250 2.0.0 delivered to the local mailbox", status: "2.0.0", host: "local"}
		case errors.As(derr, &le) && le.Permanent:
			outs[i] = outcome{perm: true, reply: "550 5.1.1 " + oneLine(le.Error()), status: "5.1.1", host: "local"}
		default:
			outs[i] = outcome{reply: "451 4.3.0 " + oneLine(derr.Error()), status: "4.3.0", host: "local"}
		}
	}
	return outs
}

// backoff is the wait after the n-th failed attempt: RetryInitial,
// doubling, capped at MaxRetryInterval.
func (q *Queue) backoff(n int) time.Duration {
	d := q.opts.RetryInitial
	for i := 1; i < n && d < MaxRetryInterval; i++ {
		d *= 2
	}
	return min(d, max(MaxRetryInterval, q.opts.RetryInitial))
}

// finish records an attempt's outcomes: the log line and count of each
// recipient, a bounce for those that failed for good (made durable
// before their state says so), the state file, and the next attempt.
func (q *Queue) finish(it *item, outs []outcome, start time.Time) {
	m := it.m
	now := time.Now()
	if q.ctx.Err() != nil {
		// Shutting down: an attempt cut off says nothing about the
		// destination; the recipients stay as they were.
		allTemp := true
		for _, o := range outs {
			if o.sent || o.perm {
				allTemp = false
			}
		}
		if allTemp {
			return
		}
	}
	q.mu.Lock()
	deleted := m.deleted
	q.mu.Unlock()
	if deleted {
		return
	}
	class := q.class(it.dest)
	var failed, warn []failure
	var still []int
	var next time.Time
	m.mu.Lock()
	for k, ri := range it.rcpts {
		o, r := outs[k], &m.st[ri]
		r.Attempts++
		r.LastReply, r.LastHost = o.reply, o.host
		result := "deferred"
		switch {
		case o.sent:
			result = "sent"
		case o.perm:
			result = "bounced"
			failed = append(failed, failure{rcpt: ri, o: o})
		case now.Sub(m.env.Created) >= q.opts.MaxAge:
			result = "expired"
			o.status = "4.4.7"
			o.reply = "message expired after " + q.opts.MaxAge.String() + "; last error: " + o.reply
			failed = append(failed, failure{rcpt: ri, o: o, expired: true})
		default:
			r.Next = now.Add(q.backoff(r.Attempts))
			if exp := m.env.Created.Add(q.opts.MaxAge); r.Next.After(exp) {
				r.Next = exp
			}
			still = append(still, ri)
			if r.Next.After(next) {
				next = r.Next
			}
			if q.opts.DelayWarning > 0 && !r.Warned && now.Sub(m.env.Created) >= q.opts.DelayWarning {
				warn = append(warn, failure{rcpt: ri, o: o})
			}
		}
		if result == "sent" {
			r.Status = StatusSent
		}
		q.logDelivery(m.env, r.Addr, o, result, now, start)
		q.opts.Metrics.Delivery(result, class)
	}
	m.mu.Unlock()
	if len(warn) > 0 {
		if err := q.notify(m, warn, now, true); err != nil {
			q.log.Warn("cannot queue the delay warning; will try at the next attempt", "queue_id", m.env.ID, "err", err)
		} else {
			m.mu.Lock()
			for _, f := range warn {
				m.st[f.rcpt].Warned = true
			}
			m.mu.Unlock()
		}
	}
	if len(failed) > 0 {
		if err := q.bounce(m, failed, now); err != nil {
			// The bounce is not durable: keep the recipients queued and
			// try again later, rather than fail them unannounced.
			q.log.Error("cannot queue the bounce; recipients stay queued", "queue_id", m.env.ID, "err", err)
			m.mu.Lock()
			for _, f := range failed {
				m.st[f.rcpt].Next = now.Add(q.opts.RetryInitial)
				still = append(still, f.rcpt)
				next = now.Add(q.opts.RetryInitial)
			}
			m.mu.Unlock()
		} else {
			m.mu.Lock()
			for _, f := range failed {
				m.st[f.rcpt].Status = StatusFailed
			}
			m.mu.Unlock()
		}
	}
	q.mu.Lock()
	if m.deleted {
		q.mu.Unlock()
		return
	}
	done := false
	if len(still) > 0 {
		it.rcpts, it.next = still, next
		q.place(it, now)
	} else {
		m.items--
		done = m.items == 0
		if done {
			delete(q.msgs, m.env.ID)
		}
	}
	q.mu.Unlock()
	if done {
		if err := removeMessage(q.opts.Dir, m.env.ID); err != nil {
			q.log.Error("cannot remove a finished queue file", "queue_id", m.env.ID, "err", err)
		} else {
			q.log.Info(m.env.ID + ": removed")
		}
		return
	}
	m.mu.Lock()
	err := writeState(q.opts.Dir, m.env.ID, m.st)
	m.mu.Unlock()
	if err != nil {
		q.log.Warn("cannot write the queue state file", "queue_id", m.env.ID, "err", err)
	}
	q.signal()
}

// logDelivery writes the one line per recipient and attempt, in
// Postfix's words: "ID: to=<rcpt>, relay=host[ip]:port, delay=D,
// dsn=X.Y.Z, status=sent (reply)".
func (q *Queue) logDelivery(env Envelope, rcpt string, o outcome, result string, now, start time.Time) {
	status := result
	if result == "bounced" || result == "expired" {
		status = "bounced"
	}
	line := fmt.Sprintf("%s: to=<%s>, relay=%s, delay=%.2f, delays=%.2f, dsn=%s, status=%s (%s)",
		env.ID, rcpt, o.host, now.Sub(env.Created).Seconds(), now.Sub(start).Seconds(), o.status, status, o.reply)
	if result == "sent" {
		q.log.Info(line)
	} else {
		q.log.Warn(line)
	}
}
