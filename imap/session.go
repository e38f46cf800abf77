package imap

import (
	"context"
	"errors"
	"log/slog"

	"net/netip"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"

	"immp/maildir"
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
	tried  string // user name of a failed login, for its log line
	view   *view  // selected folder, nil when none
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
		log:  s.log.With("conn", s.nextID.Add(1), "remote", remote.String()),
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
	if s.view != nil {
		s.view.close()
		s.view = nil
	}
	s.srv.mu.Lock()
	delete(s.srv.conns, s)
	s.srv.mu.Unlock()
	s.log.Debug("connection closed")
	return nil
}

// track counts a command as in progress (for Shutdown) and, when it ends,
// translates its error for the wire and logs one line with the outcome.
func (s *session) track(cmd string) func(*error) {
	s.srv.active.Add(1)
	start := time.Now()
	return func(errp *error) {
		defer s.srv.active.Add(-1)
		internal := *errp
		*errp = toWire(internal)
		result, code := "OK", ""
		var ie *imap.Error
		if errors.As(*errp, &ie) {
			result, code = string(ie.Type), string(ie.Code)
		}
		attrs := []any{"cmd", cmd, "result", result, "dur", time.Since(start).Round(time.Microsecond)}
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
	return nil
}

// Namespace: one personal namespace, empty prefix, "/" (profile 5).
func (s *session) Namespace() (*imap.NamespaceData, error) {
	return &imap.NamespaceData{Personal: []imap.NamespaceDescriptor{{Prefix: "", Delim: '/'}}}, nil
}

// AppendLimit is advertised as APPENDLIMIT= (RFC 7889).
func (s *session) AppendLimit() uint32 { return s.srv.opts.AppendLimit }

// Poll sends pending updates of the selected folder (after every command).
func (s *session) Poll(w *imapserver.UpdateWriter, allowExpunge bool) error {
	if s.view == nil {
		return nil
	}
	if err := s.view.st.Poll(w, allowExpunge); err != nil {
		return err
	}
	return s.view.writeRecent(w)
}

// Idle streams updates of the selected folder until the client says DONE;
// a delivered message shows up as "* n EXISTS" as soon as the mailbox
// layer reports it.
func (s *session) Idle(w *imapserver.UpdateWriter, stop <-chan struct{}) error {
	if s.view == nil {
		<-stop
		return nil
	}
	// Flush what queued before IDLE began, then wait for more.
	if err := s.Poll(w, true); err != nil {
		return err
	}
	return s.view.idle(w, stop)
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
	if s.view.mb.isGone() {
		return nil, errFolderGone
	}
	return s.view, nil
}
