package imap

import (
	"context"
	"errors"
	"log/slog"

	"net/netip"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"

	"github.com/immp-mail/immp/maildir"
)

// session is one IMAP connection's backend state. imapserver calls its
// methods one at a time, except Idle, which runs beside the reader.
type session struct {
	srv  *Server
	conn *imapserver.Conn
	log  *slog.Logger
	ip   netip.Addr
	ctx  context.Context

	acct   maildir.Account
	authed bool
	tried  string        // user name of a failed login, for its log line
	view   *view         // selected folder, nil when none
	done   chan struct{} // closed by Close
}

var (
	_ imapserver.SessionIMAP4rev2   = (*session)(nil)
	_ imapserver.SessionAppendLimit = (*session)(nil)
)

func (s *Server) newSession(conn *imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
	remote := conn.NetConn().RemoteAddr()
	var ip netip.Addr
	if ap, err := netip.ParseAddrPort(remote.String()); err == nil {
		ip = ap.Addr()
	}
	sess := &session{
		srv:  s,
		conn: conn,
		ip:   ip,
		ctx:  s.ctx,
		done: make(chan struct{}),
		log:  s.connLogger(ip).With("session", s.nextID.Add(1), "remote", ip.String()),
	}
	s.mu.Lock()
	closing := s.closing
	if !closing {
		s.conns[sess] = struct{}{}
	}
	s.mu.Unlock()
	if closing {
		return nil, nil, &imap.Error{Type: imap.StatusResponseTypeBye, Text: "Server shutting down"}
	}
	sess.log.Debug("connection opened")
	return sess, nil, nil
}

// Close is called by imapserver when the connection ends.
func (s *session) Close() error {
	close(s.done)
	if s.view != nil {
		s.view.w.Close()
		s.view = nil
	}
	s.srv.mu.Lock()
	delete(s.srv.conns, s)
	s.srv.mu.Unlock()
	s.log.Debug("connection closed")
	flushConnLog(s.log)
	return nil
}

// track counts a command as in progress (for Shutdown) and, when it ends,
// translates its error for the wire and logs one line with the outcome.
func (s *session) track(cmd string) func(*error) {
	s.srv.active.Add(1)
	start := time.Now()
	return func(errp *error) {
		defer s.srv.active.Add(-1)
		if v := recover(); v != nil {
			s.panicked(cmd, v) // panic.go: logs, then ends the connection
		}
		internal := *errp
		*errp = toWire(internal)
		result, code := "OK", ""
		var ie *imap.Error
		if errors.As(*errp, &ie) {
			result, code = string(ie.Type), string(ie.Code)
		}
		attrs := []any{"cmd", cmd, "status", result, "dur_ms", float64(time.Since(start).Microseconds()) / 1000}
		if code != "" {
			attrs = append(attrs, "code", code)
		}
		if s.tried != "" {
			attrs = append(attrs, "user", s.tried)
			s.tried = ""
		}
		level := slog.LevelInfo
		if internal != nil && !errors.As(internal, &ie) {
			// The client saw only a code; the cause goes to the log.
			attrs = append(attrs, "err", internal.Error())
			if code == string(imap.ResponseCodeServerBug) {
				level = slog.LevelError
			}
		}
		s.log.Log(s.ctx, level, "imap command", attrs...)
		s.srv.opts.Metrics.IMAPCommand(cmd, result)
	}
}

// Login checks a user's password (LOGIN, and AUTHENTICATE PLAIN through
// imapserver's default SASL server). The throttle's delay is waited before
// the check, whether the guess is right or wrong; a check that cannot be
// made now (throttle turn or password hashing busy) is NO [UNAVAILABLE].
func (s *session) Login(username, password string) (err error) {
	defer s.track("LOGIN")(&err)
	att, err := s.srv.opts.Throttle.Begin(s.ctx, s.ip, username)
	if err != nil {
		return err
	}
	defer att.End()
	acct, err := s.srv.opts.Store.Authenticate(s.ctx, username, password)
	if err != nil {
		if errors.Is(err, maildir.ErrAuthFailed) || errors.Is(err, maildir.ErrNoSuchAccount) ||
			errors.Is(err, maildir.ErrInvalidAddress) {
			att.Failure()
			s.tried = username
			return authFailed()
		}
		return err
	}
	att.Success()
	s.acct, s.authed = acct, true
	s.log = s.log.With("user", acct.Address)
	go s.endWhenDeleted(s.srv.opts.Store.AccountGone(acct))
	return nil
}

// endWhenDeleted closes the connection with BYE when the account is
// deleted (here or by another process): nothing of it may be served on.
func (s *session) endWhenDeleted(gone <-chan struct{}) {
	select {
	case <-s.done:
	case <-gone:
		s.log.Info("account deleted: connection closed")
		s.conn.Bye("Account deleted")
	}
}

// Namespace: one personal namespace, empty prefix, "/" (profile 5).
func (s *session) Namespace() (*imap.NamespaceData, error) {
	return &imap.NamespaceData{Personal: []imap.NamespaceDescriptor{{Prefix: "", Delim: '/'}}}, nil
}

// AppendLimit is advertised as APPENDLIMIT= (RFC 7889).
func (s *session) AppendLimit() uint32 { return s.srv.opts.AppendLimit }

// Poll tells the client what changed in the selected folder (after every
// command). The watcher is synced first: every change acknowledged before
// the command ended (a delivery's 250, another session's OK) is in it.
func (s *session) Poll(w *imapserver.UpdateWriter, allowExpunge bool) error {
	if s.view == nil {
		return nil
	}
	if err := s.view.w.Sync(s.ctx); err != nil {
		return err
	}
	cs := s.condStore()
	highest, err := s.view.pollCondStore(s.ctx, cs) // condstore.go
	if err != nil {
		return err
	}
	if err := s.view.update(w, allowExpunge, s.showRecent(), cs, s.qresync()); err != nil {
		return err
	}
	if highest != nil {
		return highest(w)
	}
	return nil
}

// idleRecheck is how often IDLE looks at the disk for changes made by
// other programs (Dovecot's mailbox_idle_check_interval is 30 s); changes
// made through this process arrive at once.
const idleRecheck = 30 * time.Second

// Idle streams updates of the selected folder until the client says DONE;
// a delivered message shows up as "* n EXISTS" as soon as it is listed.
func (s *session) Idle(w *imapserver.UpdateWriter, stop <-chan struct{}) error {
	if s.view == nil {
		<-stop
		return nil
	}
	t := time.NewTicker(idleRecheck)
	defer t.Stop()
	for {
		if err := s.Poll(w, true); err != nil {
			return err
		}
		select {
		case <-stop:
			return nil
		case <-s.view.w.Ready():
		case <-t.C:
		}
	}
}

// showRecent says whether \Recent belongs in this client's FLAGS: not
// once it has enabled IMAP4rev2, which removed it (RFC 9051 appendix E).
func (s *session) showRecent() bool {
	return !s.conn.EnabledCaps().Has(imap.CapIMAP4rev2)
}

func (s *session) selected() (*view, error) {
	if s.view == nil {
		return nil, errNoSelected
	}
	if s.view.deleted || s.view.w.Deleted() {
		return nil, errFolderGone
	}
	return s.view, nil
}
