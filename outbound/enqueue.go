package outbound

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"
)

// Message is what Enqueue takes besides the message text.
type Message struct {
	// ID names the queue file; "" draws a new one. The SMTP transaction
	// ID is used, so the log lines of reception and delivery share it.
	ID         string
	Sender     string // "" is the null sender
	Recipients []string
	UTF8       bool // the transaction was SMTPUTF8 (RFC 6531)
}

// Enqueue signs msg (when a Signer is set), writes it to the queue and
// makes it durable (file and directory fsynced) before it returns: only
// then may the client hear 250. Delivery starts at once.
func (q *Queue) Enqueue(ctx context.Context, m Message, msg []byte) (string, error) {
	if len(m.Recipients) == 0 {
		return "", errors.New("outbound: no recipients")
	}
	if q.opts.Signer != nil {
		sig, err := q.opts.Signer.SignHeader(ctx, msg)
		if err != nil {
			return "", fmt.Errorf("outbound: signing: %w", err)
		}
		if sig != "" {
			msg = append([]byte(sig), msg...)
		}
	}
	id := m.ID
	if id == "" || !ValidID(id) {
		id = newID()
	}
	env := Envelope{ID: id, Sender: m.Sender, Recipients: m.Recipients, Created: time.Now().UTC(), UTF8: m.UTF8}
	off, err := writeMessage(q.fs, q.opts.Dir, &env, msg)
	if errors.Is(err, os.ErrExist) { // a transaction ID met twice: draw one
		env.ID = newID()
		off, err = writeMessage(q.fs, q.opts.Dir, &env, msg)
	}
	if err != nil {
		return "", fmt.Errorf("outbound: writing the queue file: %w", err)
	}
	qm := &qmsg{env: env, off: off, st: make([]RcptState, len(env.Recipients))}
	for i, r := range env.Recipients {
		qm.st[i] = RcptState{Addr: r, Status: StatusQueued}
	}
	q.mu.Lock()
	if !q.closed {
		// After Shutdown (a transaction finishing in the grace period)
		// the file is durable all the same; the next start sends it.
		q.msgs[env.ID] = qm
		q.schedule(qm, time.Now())
	}
	q.mu.Unlock()
	q.signal()
	q.log.Info(fmt.Sprintf("%s: from=<%s>, size=%d, nrcpt=%d (queue active)", env.ID, env.Sender, env.Size, len(env.Recipients)))
	return env.ID, nil
}

// Received is the trace field a relay adds (RFC 5321 4.4) to the mail it
// queues, CRLF-terminated.
func Received(host, helo, clientIP, tlsText, authUser, id string, utf8 bool, t time.Time) string {
	clean := func(s string) string {
		return strings.Map(func(r rune) rune {
			if r < 0x20 || r == 0x7f || r == '(' || r == ')' || r == '\\' {
				return -1
			}
			return r
		}, s)
	}
	proto := "ESMTP"
	if utf8 {
		proto = "UTF8SMTP"
	}
	if tlsText != "" {
		proto += "S"
	}
	if authUser != "" {
		proto += "A" // RFC 3848
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Received: from %s ([%s])\r\n", clean(strings.Fields(helo + " unknown")[0]), clean(clientIP))
	if tlsText != "" {
		fmt.Fprintf(&b, "\t(using %s)\r\n", clean(tlsText))
	}
	fmt.Fprintf(&b, "\tby %s (immp) with %s id %s;\r\n\t%s\r\n", clean(host), proto, clean(id), t.Format("Mon, 02 Jan 2006 15:04:05 -0700"))
	return b.String()
}
