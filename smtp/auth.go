package smtp

import (
	"bytes"

	"github.com/emersion/go-sasl"
	gosmtp "github.com/emersion/go-smtp"
)

// authAllowed: AUTH only over TLS, from loopback, or where the operator
// allowed cleartext (RFC 6409 4.3 wants protected credentials).
func (s *session) authAllowed() bool {
	if _, tls := s.conn.TLSConnectionState(); tls {
		return true
	}
	return s.srv.opts.AllowInsecureAuth || s.ip.IsLoopback()
}

// AuthMechanisms is what EHLO advertises: nothing on the Receiver-SMTP
// (no relaying for anyone), and on submission PLAIN and LOGIN where
// AUTH is allowed.
func (s *session) AuthMechanisms() []string {
	if !s.srv.opts.Submission || !s.authAllowed() {
		return nil
	}
	return []string{sasl.Plain, sasl.Login}
}

// Auth starts one SASL exchange (RFC 4954).
func (s *session) Auth(mech string) (sasl.Server, error) {
	if !s.srv.opts.Submission {
		return nil, errAuthUnsupported
	}
	if !s.authAllowed() {
		return nil, errEncryptionRequired
	}
	switch mech {
	case sasl.Plain:
		return &plainServer{check: s.login}, nil
	case sasl.Login:
		return &loginServer{check: s.login}, nil
	}
	return nil, gosmtp.ErrAuthUnknownMechanism
}

// login checks the credentials, slowing down repeated failures from the
// client's address and against the account. The reply (authReply) never
// tells an unknown user from a wrong password.
func (s *session) login(user, pass string) error {
	ctx := s.srv.ctx
	att, err := s.srv.opts.Throttle.Begin(ctx, s.ip, user)
	if err != nil {
		return s.rejected("AUTH", nil, "", err, authReply(err), "user", user)
	}
	defer att.End()
	acct, err := s.srv.opts.Deliverer.Authenticate(ctx, user, pass)
	if err != nil {
		rep := authReply(err)
		if rep == errAuthFailed {
			att.Failure()
		}
		return s.rejected("AUTH", nil, "", err, rep, "user", user)
	}
	att.Success()
	s.auth = &acct
	s.authOK = true
	s.log = s.log.With("user", acct.Address)
	s.audit = s.audit.With("user", acct.Address)
	return nil
}

// plainServer is SASL PLAIN (RFC 4616), with go-smtp-typed errors (go-sasl's
// own would put Go error text on the wire). An authorization identity
// other than the user is refused: no proxy logins.
type plainServer struct {
	check func(user, pass string) error
	done  bool
}

func (p *plainServer) Next(resp []byte) ([]byte, bool, error) {
	if p.done {
		return nil, false, errAuthSyntax
	}
	if resp == nil {
		return []byte{}, false, nil // no initial response: empty challenge
	}
	p.done = true
	parts := bytes.Split(resp, []byte{0})
	if len(parts) != 3 || len(parts[1]) == 0 {
		return nil, false, errAuthSyntax
	}
	authz, user, pass := string(parts[0]), string(parts[1]), string(parts[2])
	if authz != "" && authz != user {
		return nil, false, errAuthFailed
	}
	if err := p.check(user, pass); err != nil {
		return nil, false, err
	}
	return nil, true, nil
}

// loginServer is the LOGIN mechanism (draft-murchison-sasl-login), which
// go-sasl has only as a client: "Username:" then "Password:", the user
// name possibly sent as the initial response.
type loginServer struct {
	check func(user, pass string) error
	step  int
	user  string
}

func (l *loginServer) Next(resp []byte) ([]byte, bool, error) {
	switch l.step {
	case 0:
		l.step = 1
		if resp == nil {
			return []byte("Username:"), false, nil
		}
		fallthrough
	case 1:
		l.user = string(resp)
		l.step = 2
		return []byte("Password:"), false, nil
	case 2:
		l.step = 3
		if err := l.check(l.user, string(resp)); err != nil {
			return nil, false, err
		}
		return nil, true, nil
	}
	return nil, false, errAuthSyntax
}
