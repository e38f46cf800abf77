package immptest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/smtp"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/immp-mail/immp/httpapi"
)

// Message and Detail are the API's JSON (docs/api.md).
type (
	Message = httpapi.Message
	Detail  = httpapi.Detail
)

// Query selects messages as GET /api/v1/messages does: every field set
// must match (substrings, case-insensitive).
type Query struct {
	Account, Folder, From, To, Subject, Text string
	// Since: only messages received at or after it.
	Since time.Time
	// Timeout of WaitFor (default 10s).
	Timeout time.Duration
}

func (q Query) values() url.Values {
	v := url.Values{}
	for k, s := range map[string]string{"account": q.Account, "folder": q.Folder, "from": q.From,
		"to": q.To, "subject": q.Subject, "text": q.Text} {
		if s != "" {
			v.Set(k, s)
		}
	}
	if !q.Since.IsZero() {
		v.Set("since", q.Since.Format(time.RFC3339Nano))
	}
	return v
}

// APIError is a non-2xx answer of the API.
type APIError struct {
	Status int
	Msg    string
}

func (e *APIError) Error() string { return fmt.Sprintf("immp API: %d %s", e.Status, e.Msg) }

// Do sends one API request (path under the server, e.g.
// "/api/v1/messages") and decodes a JSON answer into out (nil: drop it).
func (s *Server) Do(ctx context.Context, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, s.URL+path, rd)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		var e struct {
			Error string `json:"error"`
		}
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		json.Unmarshal(b, &e)
		return &APIError{Status: resp.StatusCode, Msg: e.Error}
	}
	if out == nil {
		io.Copy(io.Discard, resp.Body)
		return nil
	}
	if w, ok := out.(io.Writer); ok {
		_, err = io.Copy(w, resp.Body)
		return err
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

// CreateAccount makes an account with a password (for IMAP, IMMP and
// submission logins); mail to any address needs none under capture.
func (s *Server) CreateAccount(tb testing.TB, address, password string) {
	tb.Helper()
	if err := s.Do(context.Background(), "POST", "/api/v1/accounts", map[string]string{"address": address, "password": password}, nil); err != nil {
		tb.Fatalf("immptest: create account %s: %v", address, err)
	}
}

// Send delivers a message over SMTP (port 25's service): from is the
// reverse-path, to the recipients, msg the whole message (header and
// body; bare LF line ends are sent as CRLF).
func (s *Server) Send(tb testing.TB, from string, to []string, msg string) {
	tb.Helper()
	if err := SendMail(s.SMTP, from, to, msg); err != nil {
		tb.Fatalf("immptest: send: %v", err)
	}
}

// SendMail runs one SMTP transaction against addr, without STARTTLS (the
// server's certificate is self-signed; this is loopback).
func SendMail(addr, from string, to []string, msg string) error {
	return transact(addr, nil, from, to, msg)
}

// SubmitMail is SendMail logged in first (AUTH PLAIN as user, allowed
// without TLS on loopback): authenticated submission, to Server.Submission.
func SubmitMail(addr, user, password, from string, to []string, msg string) error {
	return transact(addr, smtp.PlainAuth("", user, password, "127.0.0.1"), from, to, msg)
}

// transact is one transaction, with AUTH when auth is set.
func transact(addr string, auth smtp.Auth, from string, to []string, msg string) error {
	c, err := smtp.Dial(addr)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.Hello("localhost"); err != nil {
		return err
	}
	if auth != nil {
		if err := c.Auth(auth); err != nil {
			return err
		}
	}
	if err := c.Mail(from); err != nil {
		return err
	}
	for _, r := range to {
		if err := c.Rcpt(r); err != nil {
			return err
		}
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	msg = strings.ReplaceAll(strings.ReplaceAll(msg, "\r\n", "\n"), "\n", "\r\n")
	if _, err := io.WriteString(w, msg); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	return c.Quit()
}

// WaitFor returns the newest message matching q, waiting up to
// q.Timeout (default 10s) for one to be stored; it fails the test at
// the timeout.
func (s *Server) WaitFor(tb testing.TB, q Query) Message {
	tb.Helper()
	m, err := s.Wait(context.Background(), q)
	if err != nil {
		tb.Fatalf("immptest: wait for %+v: %v", q, err)
	}
	return m
}

// Wait is WaitFor for code without a testing.TB.
func (s *Server) Wait(ctx context.Context, q Query) (Message, error) {
	v := q.values()
	if q.Timeout == 0 {
		q.Timeout = 10 * time.Second
	}
	v.Set("timeout", q.Timeout.String())
	var m Message
	err := s.Do(ctx, "GET", "/api/v1/messages/wait?"+v.Encode(), nil, &m)
	return m, err
}

// Messages lists the messages matching q, newest first (at most 1000).
func (s *Server) Messages(tb testing.TB, q Query) []Message {
	tb.Helper()
	v := q.values()
	v.Set("limit", "1000")
	var out struct {
		Messages []Message `json:"messages"`
	}
	if err := s.Do(context.Background(), "GET", "/api/v1/messages?"+v.Encode(), nil, &out); err != nil {
		tb.Fatalf("immptest: list: %v", err)
	}
	return out.Messages
}

// Get fetches one message with its headers, text, HTML and attachments.
func (s *Server) Get(tb testing.TB, id string) Detail {
	tb.Helper()
	var d Detail
	if err := s.Do(context.Background(), "GET", "/api/v1/messages/"+id, nil, &d); err != nil {
		tb.Fatalf("immptest: get %s: %v", id, err)
	}
	return d
}

// Raw fetches a message's source.
func (s *Server) Raw(tb testing.TB, id string) string {
	tb.Helper()
	var b bytes.Buffer
	if err := s.Do(context.Background(), "GET", "/api/v1/messages/"+id+"/raw", nil, &b); err != nil {
		tb.Fatalf("immptest: raw %s: %v", id, err)
	}
	return b.String()
}

// DeleteAll removes every message of every account.
func (s *Server) DeleteAll(tb testing.TB) {
	tb.Helper()
	if err := s.Do(context.Background(), "DELETE", "/api/v1/messages", nil, nil); err != nil {
		tb.Fatalf("immptest: delete all: %v", err)
	}
}
