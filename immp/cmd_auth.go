package immp

import (
	"encoding/base64"
	"errors"
	"strings"

	"github.com/emersion/go-sasl"

	"github.com/immp-mail/immp/immp/wire"
	"github.com/immp-mail/immp/maildir"
)

// loginFailedText is the one text of every failed login, whether the user
// or the password was wrong (draft 7, profile 4).
const loginFailedText = "Invalid credentials"

// loginAddress completes a bare local part when the server serves exactly
// one domain (profile 4).
func (c *conn) loginAddress(user string) string {
	if d := c.s.opts.Mapper.Domains; !strings.Contains(user, "@") && len(d) == 1 {
		return user + "@" + strings.TrimSuffix(d[0], ".")
	}
	return user
}

// draft 6.2.2; "LOGIN anonymous <any>" enters the anonymous state (draft
// 6.2, profile 3).
func (c *conn) cmdLogin(cmd *wire.Command) error {
	user, pass := cmd.Args[0], cmd.Args[1]
	if strings.EqualFold(user, "anonymous") {
		c.state = stateAnonymous
		c.log = c.log.With("user", "anonymous")
		return nil
	}
	if c.insecure() {
		return errNo(codePrivacy, "Use TLS (STARTTLS) to log in")
	}
	return c.login(user, pass)
}

// login checks credentials, slowed down per remote address and per
// account after repeated failures (throttle waits before the check, so a
// right guess costs the same as a wrong one). A check that cannot be made
// now (throttle turn, password hashing busy) is left to translate:
// NO [UNAVAILABLE].
func (c *conn) login(user, pass string) error {
	addr := c.loginAddress(user)
	att, err := c.s.opts.Throttle.Begin(c.ctx, c.ip, addr)
	if err != nil {
		return err
	}
	defer att.End()
	acct, err := c.s.opts.Store.Authenticate(c.ctx, addr, pass)
	if err != nil {
		if errors.Is(err, maildir.ErrAuthFailed) || errors.Is(err, maildir.ErrNoSuchAccount) ||
			errors.Is(err, maildir.ErrInvalidAddress) {
			att.Failure()
			c.log.Info("login failed")
			return errNo(codeAuthFailed, loginFailedText)
		}
		return err
	}
	att.Success()
	c.acct = acct
	c.state = stateAuth
	c.log = c.log.With("user", acct.Address)
	go c.endWhenDeleted(c.s.opts.Store.AccountGone(acct))
	return nil
}

// endWhenDeleted closes the connection when the account is deleted (here
// or by another process): nothing of it may be served on.
func (c *conn) endWhenDeleted(gone <-chan struct{}) {
	select {
	case <-c.done:
	case <-gone:
		c.log.Info("account deleted: connection closed")
		c.raw.Close()
	}
}

// draft 6.2.1 with RFC 9051 6.2.2 and SASL-IR (RFC 4959): PLAIN only, no
// security layer; a "*" line cancels with BAD.
func (c *conn) cmdAuthenticate(cmd *wire.Command) error {
	if cmd.Args[0] != "PLAIN" {
		return errNo("", "Unsupported authentication mechanism")
	}
	if c.insecure() {
		return errNo(codePrivacy, "Use TLS (STARTTLS) to log in")
	}
	var authErr error
	srv := sasl.NewPlainServer(func(identity, username, password string) error {
		if identity != "" && identity != username {
			// No proxy authorization: another identity is a failure.
			c.s.opts.Throttle.Failure(c.ip, c.loginAddress(username))
			authErr = errNo(codeAuthFailed, loginFailedText)
		} else {
			authErr = c.login(username, password)
		}
		return authErr
	})
	var resp []byte
	if len(cmd.Args) == 2 {
		resp = []byte{}
		if cmd.Args[1] != "=" {
			b, err := base64.StdEncoding.DecodeString(cmd.Args[1])
			if err != nil {
				return errBad("Invalid base64 in initial response")
			}
			resp = b
		}
	}
	for {
		chal, done, err := srv.Next(resp)
		if authErr != nil {
			return authErr
		}
		if err != nil {
			c.s.opts.Throttle.Failure(c.ip, "")
			return errNo(codeAuthFailed, loginFailedText)
		}
		if done {
			return nil
		}
		c.w.Continue(base64.StdEncoding.EncodeToString(chal))
		if err := c.w.Flush(); err != nil {
			return err
		}
		line, err := c.r.ReadLine()
		if err != nil {
			var le *wire.LimitError
			if errors.As(err, &le) {
				return errBadCode(codeLimit, "Response too long")
			}
			c.state = stateLogout
			return errAnswered
		}
		if string(line) == "*" {
			return errBad("AUTHENTICATE cancelled")
		}
		b, err := base64.StdEncoding.DecodeString(string(line))
		if err != nil {
			return errBad("Invalid base64 in response")
		}
		resp = append([]byte{}, b...)
	}
}
