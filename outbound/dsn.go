package outbound

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

// failure is one recipient that failed for good.
type failure struct {
	rcpt    int // index into the message's state
	o       outcome
	expired bool
}

// maxReturnedHeader bounds the original header section returned in a
// bounce (text/rfc822-headers).
const maxReturnedHeader = 64 << 10

// bounce queues a delivery status notification (RFC 3464) for failed
// recipients of m to its envelope sender, with the null sender (RFC 5321
// 4.5.5) so it can never cause another. A message from the null sender
// gets none. It returns once the bounce is durable.
func (q *Queue) bounce(m *qmsg, failed []failure, now time.Time) error {
	return q.notify(m, failed, now, false)
}

// notify queues a DSN: a bounce, or with delayed a warning that the
// recipients are still being retried (RFC 3464 2.3.3 "delayed").
func (q *Queue) notify(m *qmsg, failed []failure, now time.Time, delayed bool) error {
	if m.env.Sender == "" {
		q.log.Info(m.env.ID + ": no bounce for a message from the null sender")
		return nil
	}
	hdr, err := q.originalHeader(m)
	if err != nil {
		return err
	}
	m.mu.Lock()
	rcpts := make([]string, len(failed))
	for i, f := range failed {
		rcpts[i] = m.st[f.rcpt].Addr
	}
	m.mu.Unlock()
	var until time.Time
	if delayed {
		until = m.env.Created.Add(q.opts.MaxAge)
	}
	dsn := buildDSN(q.opts.Hostname, m.env, rcpts, failed, hdr, now, until)
	id, err := q.Enqueue(q.ctx, Message{Sender: "", Recipients: []string{m.env.Sender}}, dsn)
	if err != nil {
		return err
	}
	what := "non-delivery"
	if delayed {
		what = "delay"
	}
	q.log.Info(fmt.Sprintf("%s: sender %s notification: %s", m.env.ID, what, id))
	return nil
}

// originalHeader reads the header section of the queued message.
func (q *Queue) originalHeader(m *qmsg) ([]byte, error) {
	f, err := os.Open(q.path(m.env.ID))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r := bufio.NewReader(io.NewSectionReader(f, m.off, min(m.env.Size, maxReturnedHeader)))
	var b bytes.Buffer
	for {
		line, err := r.ReadBytes('\n')
		if len(bytes.TrimRight(line, "\r\n")) == 0 && (len(line) > 0 || err != nil) {
			break // the blank line, or the end
		}
		b.Write(line)
		if err != nil {
			b.WriteString("\r\n")
			break
		}
	}
	return b.Bytes(), nil
}

// buildDSN writes the multipart/report (RFC 6522) with a human part, the
// message/delivery-status part (RFC 3464 2) and the original header
// section (text/rfc822-headers). A non-zero retryUntil makes it a delay
// warning (Action: delayed) instead of a bounce.
func buildDSN(hostname string, env Envelope, rcpts []string, failed []failure, origHeader []byte, now, retryUntil time.Time) []byte {
	delayed := !retryUntil.IsZero()
	boundary := "=_immp_" + strings.ToLower(rand.Text())
	date := now.Format(time.RFC1123Z)
	var b bytes.Buffer
	w := func(format string, args ...any) { fmt.Fprintf(&b, format+"\r\n", args...) }
	w("From: Mail Delivery System <MAILER-DAEMON@%s>", hostname)
	w("To: <%s>", env.Sender)
	if delayed {
		w("Subject: Delayed Mail (still being retried)")
	} else {
		w("Subject: Undelivered Mail Returned to Sender")
	}
	w("Date: %s", date)
	w("Message-ID: <%s.%s@%s>", env.ID, strings.ToLower(rand.Text()[:10]), hostname)
	w("Auto-Submitted: auto-replied") // RFC 3834 5
	w("MIME-Version: 1.0")
	w("Content-Type: multipart/report; report-type=delivery-status;\r\n\tboundary=\"%s\"", boundary)
	w("")
	w("This is a MIME-encapsulated message.")
	w("")
	w("--%s", boundary)
	w("Content-Type: text/plain; charset=utf-8")
	w("Content-Description: Notification")
	w("")
	w("This is the mail system at host %s.", hostname)
	w("")
	if delayed {
		w("Your message could not be delivered yet to one or more recipients.")
		w("It will be retried until %s; no action is needed.", retryUntil.Format(time.RFC1123Z))
	} else {
		w("Your message could not be delivered to one or more recipients.")
		w("It is attached below (its header section).")
	}
	w("")
	for i, r := range rcpts {
		why := failed[i].o.reply
		if failed[i].o.host != "" && failed[i].o.host != "none" {
			why = "host " + failed[i].o.host + " said: " + why
		}
		w("<%s>: %s", r, why)
	}
	w("")
	w("--%s", boundary)
	w("Content-Type: message/delivery-status")
	w("Content-Description: Delivery report")
	w("")
	// Per-message fields (RFC 3464 2.2).
	w("Reporting-MTA: dns; %s", hostname)
	w("X-Immp-Queue-ID: %s", env.ID)
	w("Arrival-Date: %s", env.Created.Local().Format(time.RFC1123Z))
	for i, r := range rcpts {
		f := failed[i]
		// Per-recipient fields (RFC 3464 2.3).
		w("")
		w("Final-Recipient: rfc822; %s", r)
		if delayed {
			w("Action: delayed")
		} else {
			w("Action: failed")
		}
		w("Status: %s", f.o.status)
		if f.o.mta != "" {
			w("Remote-MTA: dns; %s", f.o.mta)
		}
		if code := smtpCode(f.o.reply); code != "" {
			w("Diagnostic-Code: smtp; %s", f.o.reply)
		} else {
			w("Diagnostic-Code: X-immp; %s", f.o.reply)
		}
		w("Last-Attempt-Date: %s", date)
		if delayed {
			w("Will-Retry-Until: %s", retryUntil.Format(time.RFC1123Z)) // RFC 3464 2.3.9
		}
	}
	w("")
	w("--%s", boundary)
	w("Content-Type: text/rfc822-headers")
	w("Content-Description: Undelivered message headers")
	w("")
	b.Write(origHeader)
	w("")
	w("--%s--", boundary)
	return b.Bytes()
}

// smtpCode returns the reply code a diagnostic starts with, if any.
func smtpCode(reply string) string {
	if len(reply) >= 4 && reply[3] == ' ' && strings.Trim(reply[:3], "0123456789") == "" {
		return reply[:3]
	}
	return ""
}
