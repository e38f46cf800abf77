package smtp

import (
	"crypto/rand"
	"crypto/tls"
	"io"
	"log/slog"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	gosmtp "github.com/emersion/go-smtp"

	"github.com/immp-mail/immp/delivery"
	"github.com/immp-mail/immp/internal/chaos"
	"github.com/immp-mail/immp/maildir"
	"github.com/immp-mail/immp/msgauth"
)

// session is one client connection's state, as go-smtp drives it.
type session struct {
	srv  *Server
	conn *gosmtp.Conn
	tc   *trackedConn
	ip   netip.Addr
	log  *slog.Logger // limited per connection and address (logs.go)
	// audit is log without the limits, for the line of a delivered
	// transaction.
	audit *slog.Logger

	auth   *maildir.Account // the logged-in account (submission)
	authOK bool

	// mu guards txn and badRcpts: with BDAT, go-smtp runs Data in a
	// goroutine of its own while RSET or a closing connection may call
	// Reset or Logout.
	mu       sync.Mutex
	txn      *transaction // nil outside a mail transaction
	badRcpts int          // refused recipients since the last delivery
	ending   bool         // the session was told 421: refuse everything
}

// transaction is one MAIL..DATA exchange, kept for its log line.
type transaction struct {
	id       string
	sender   string
	utf8     bool
	start    time.Time
	accepted []delivery.Recipient
	remote   []string // recipients in other domains, for the outbound queue (outbound.go)
	rcpts    []rcptLog
	size     atomic.Int64 // written by Data, which may run beside Reset (BDAT)
	declared int64        // MAIL's SIZE= (RFC 1870), 0 if not given
	spf      *msgauth.SPF // inbound checks under way (msgauth.go); nil: none
	auth     string       // their summary, for the log line
}

// rcptLog is one RCPT as logged: the address, its outcome, and the folder
// its copy went to once delivered.
type rcptLog struct {
	addr    string
	outcome string
	code    int
	folder  string
}

func (s *Server) newSession(c *gosmtp.Conn) (gosmtp.Session, error) {
	nc := c.Conn()
	if t, ok := nc.(*tls.Conn); ok {
		nc = t.NetConn()
	}
	tc, _ := nc.(*trackedConn)
	ip := remoteIP(nc)
	if _, isTLS := c.Conn().(*tls.Conn); isTLS {
		if err := s.chaosConnect(ip); err != nil { // test bed (chaos.go)
			return nil, err
		}
	}
	log, audit := s.sessionLoggers(ip)
	return &session{
		srv:   s,
		conn:  c,
		tc:    tc,
		ip:    ip,
		log:   log,
		audit: audit,
	}, nil
}

func newID() string { return strings.ToUpper(rand.Text()[:16]) }

func (s *session) tlsText() string {
	cs, ok := s.conn.TLSConnectionState()
	if !ok || !cs.HandshakeComplete {
		return ""
	}
	return tls.VersionName(cs.Version) + " with cipher " + tls.CipherSuiteName(cs.CipherSuite)
}

// Mail opens a transaction (RFC 5321 4.1.1.2). The null sender is
// accepted on the Receiver-SMTP; submission wants a logged-in account
// that owns the sender address.
func (s *session) Mail(from string, opts *gosmtp.MailOptions) error {
	if s.isEnding() {
		return errLocal
	}
	if len(from)+2 > maxPathLength {
		return s.rejected("MAIL", &transaction{sender: clip(from)}, "", nil, errSenderTooLong)
	}
	if err := s.chaos(chaos.Mail, from); err != nil { // test bed (chaos.go)
		return err
	}
	if s.srv.opts.Submission {
		if !s.authOK {
			return s.rejected("MAIL", &transaction{sender: from}, "", nil, errAuthRequired)
		}
		if !s.srv.opts.Deliverer.Owns(s.srv.ctx, *s.auth, from) {
			return s.rejected("MAIL", &transaction{sender: from}, "", nil, errSenderNotOwned)
		}
	}
	s.finish(s.current(), "aborted") // a MAIL without RSET after an unfinished one
	if s.tc != nil && !s.tc.beginTxn() {
		return s.rejected("MAIL", &transaction{sender: from}, "", nil, errShuttingDown)
	}
	s.mu.Lock()
	s.txn = &transaction{id: newID(), sender: from, utf8: opts != nil && opts.UTF8, start: time.Now()}
	if opts != nil {
		s.txn.declared = opts.Size
	}
	s.startChecks(s.txn)
	s.mu.Unlock()
	return nil
}

// Rcpt checks one recipient at once (profile 9), and its mailbox's room:
// full already, or too full for the SIZE that MAIL declared, is 452 4.2.2
// for this recipient alone.
func (s *session) Rcpt(to string, _ *gosmtp.RcptOptions) error {
	t := s.current()
	if t == nil || s.isEnding() { // go-smtp checks MAIL came first; never trust it blindly
		return errLocal
	}
	if len(to)+2 > maxPathLength { // a refusal like any other: logged, counted
		rep := s.rejected("RCPT", t, clip(to), nil, errRecipientTooLong)
		if s.rcptRefused() {
			s.end()
			rep = s.rejected("RCPT", t, clip(to), nil, errTooManyBadRcpts)
		}
		t.rcpts = append(t.rcpts, rcptLog{addr: clip(to), outcome: outcomeOf(rep), code: rep.Code})
		return rep
	}
	if !s.rcptWait() {
		return errShuttingDown
	}
	if err := s.chaos(chaos.Rcpt, to, t.sender); err != nil { // test bed (chaos.go)
		return err
	}
	if s.relayRcpt(t, to) {
		return nil
	}
	r, err := s.srv.opts.Deliverer.CheckRecipient(s.srv.ctx, t.sender, to, s.authOK)
	if err == nil {
		err = s.srv.opts.Deliverer.CheckQuota(s.srv.ctx, r, t.declared)
	}
	rep := replyFor(err)
	l := rcptLog{addr: to, outcome: outcomeOf(rep)}
	if rep != nil {
		s.rejected("RCPT", t, to, err, rep)
		if rep.Code/100 == 5 && s.rcptRefused() {
			s.end()
			rep = s.rejected("RCPT", t, to, nil, errTooManyBadRcpts)
		}
		l.code = rep.Code
		t.rcpts = append(t.rcpts, l)
		return rep
	}
	t.rcpts = append(t.rcpts, l)
	t.accepted = append(t.accepted, r)
	return nil
}

// countingReader counts the octets of the message as received.
type countingReader struct {
	r io.Reader
	n *atomic.Int64
}

func (c countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// Data receives the message and delivers it; the reply is 250 only once
// every copy is durable.
func (s *session) Data(r io.Reader) (err error) {
	defer func() {
		// A data line over MaxLineLength leaves the rest of the data
		// unread, and nothing tells it from commands: the 500 is the
		// last reply (RFC 5321 4.5.3.1.10 "500 Line too long"), one
		// reply to the one command, then the connection is closed.
		if err == errLineTooLong {
			s.end()
		}
	}()
	t := s.current()
	if t == nil || s.isEnding() { // reset meanwhile
		return errLocal
	}
	if s.tc != nil {
		s.tc.data(true)
		defer s.tc.data(false)
	}
	if err := s.chaosData(t); err != nil { // test bed (chaos.go)
		s.finish(t, "chaos")
		return err
	}
	body := io.Reader(countingReader{r, &t.size})
	if s.srv.opts.Submission {
		if body, err = s.checkSenders(body, t.id); err != nil {
			rep := s.rejected("DATA", t, "", err, replyFor(err))
			s.finish(t, outcomeOf(rep))
			return rep
		}
	}
	env := delivery.Envelope{
		ID:         t.id,
		Sender:     t.sender,
		Recipients: t.accepted,
		ClientIP:   s.ip.String(),
		Helo:       s.conn.Hostname(),
		TLS:        s.tlsText(),
		UTF8:       t.utf8,
	}
	if s.authOK {
		env.AuthUser = s.auth.Address
	}
	if t.spf != nil {
		var release func()
		body, release, err = s.checkMessage(t, &env, body)
		defer release()
		if err != nil {
			rep := s.rejected("DATA", t, "", err, replyFor(err))
			s.finish(t, outcomeOf(rep))
			return rep
		}
	}
	if len(t.remote) > 0 {
		var rep *gosmtp.SMTPError
		if body, rep = s.enqueueRemote(t, env, body); rep != nil {
			return rep
		}
		if len(t.accepted) == 0 {
			s.finish(t, "queued")
			s.rcptDelivered()
			return queuedReply(t.id)
		}
	}
	results, err := s.srv.opts.Deliverer.Deliver(s.srv.ctx, env, body)
	if err != nil {
		rep := s.rejected("DATA", t, "", err, replyFor(err))
		s.finish(t, outcomeOf(rep))
		return rep
	}
	i := 0
	for j := range t.rcpts {
		if t.rcpts[j].outcome == "accepted" && i < len(results) {
			t.rcpts[j].outcome = "delivered"
			t.rcpts[j].folder = results[i].Folder
			i++
		}
	}
	s.finish(t, "delivered")
	s.rcptDelivered()
	return deliveredReply(t.id)
}

// end makes this session's next reply its last: every command after it
// is refused, and the connection is closed once that reply is written
// (commands already pipelined behind it are not served).
func (s *session) end() {
	s.mu.Lock()
	s.ending = true
	s.mu.Unlock()
	if s.tc != nil {
		s.tc.CloseAfterReply()
	}
}

func (s *session) isEnding() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ending
}

// Reset ends the transaction (RSET, a new EHLO, after DATA).
func (s *session) Reset() { s.finish(s.current(), "aborted") }

// Logout ends the session.
func (s *session) Logout() error {
	s.finish(s.current(), "aborted")
	s.flushLog()
	return nil
}

// current is the open transaction, or nil.
func (s *session) current() *transaction {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.txn
}

// finish writes transaction t's one log line, counts it and closes it,
// unless it was closed already.
func (s *session) finish(t *transaction, outcome string) {
	s.mu.Lock()
	if t == nil || s.txn != t {
		s.mu.Unlock()
		return
	}
	s.txn = nil
	s.mu.Unlock()
	t.spf.Stop()
	if s.tc != nil {
		s.tc.endTxn()
	}
	if outcome == "aborted" && len(t.rcpts) == 0 {
		// MAIL then RSET/QUIT with nothing tried: not worth a line of
		// its own beyond the count.
		s.srv.opts.Metrics.SMTPTransaction(s.srv.service, outcome)
		return
	}
	rcpts := make([]string, len(t.rcpts))
	for i, r := range t.rcpts {
		v := "<" + r.addr + "> " + r.outcome
		if r.folder != "" {
			v += " " + r.folder
		}
		if r.code != 0 {
			v += " " + strconv.Itoa(r.code)
		}
		rcpts[i] = v
	}
	attrs := []any{
		"txn", t.id,
		"helo", s.conn.Hostname(),
		"from", t.sender,
		"rcpts", rcpts,
		"size", t.size.Load(),
		"dur_ms", durMS(time.Since(t.start)),
		"outcome", outcome,
	}
	if tl := s.tlsText(); tl != "" {
		attrs = append(attrs, "tls", tl)
	}
	if t.auth != "" {
		attrs = append(attrs, "auth", t.auth)
	}
	log := s.log
	if outcome == "delivered" {
		log = s.audit
	}
	log.Info("smtp transaction", attrs...)
	s.srv.opts.Metrics.SMTPTransaction(s.srv.service, outcome)
}

// clip shortens an address refused for its length to what a log line
// needs to show, cut at a character boundary (SMTPUTF8 addresses).
func clip(addr string) string {
	keep := 64
	if len(addr) <= keep {
		return addr
	}
	for keep > 0 && !utf8.RuneStart(addr[keep]) {
		keep--
	}
	return addr[:keep] + "..."
}
