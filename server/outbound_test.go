package server

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-message"
	"github.com/emersion/go-sasl"
	gosmtp "github.com/emersion/go-smtp"
	"github.com/foxcpp/go-mockdns"

	"github.com/immp-mail/immp/config"
	"github.com/immp-mail/immp/internal/syncbuf"
)

// sinkMX is a receiving server for the remote domain: it takes mail to
// anyone but "nobody@", which it refuses with 550 5.1.1.
type sinkMX struct {
	mu   sync.Mutex
	got  []string // "rcpt|message"
	port int
}

type sinkSession struct {
	s  *sinkMX
	to []string
}

func (s *sinkSession) Reset()                                 { s.to = nil }
func (s *sinkSession) Logout() error                          { return nil }
func (s *sinkSession) Mail(string, *gosmtp.MailOptions) error { return nil }
func (s *sinkSession) Rcpt(to string, _ *gosmtp.RcptOptions) error {
	if strings.HasPrefix(to, "nobody@") {
		return &gosmtp.SMTPError{Code: 550, EnhancedCode: gosmtp.EnhancedCode{5, 1, 1}, Message: "no such user here"}
	}
	s.to = append(s.to, to)
	return nil
}
func (s *sinkSession) Data(r io.Reader) error {
	b, _ := io.ReadAll(r)
	s.s.mu.Lock()
	for _, to := range s.to {
		s.s.got = append(s.s.got, to+"|"+string(b))
	}
	s.s.mu.Unlock()
	return nil
}

func (s *sinkMX) messages() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.got...)
}

// outboundServer starts a whole server for example.org with outbound on,
// delivering remote.test through an in-process DNS server to a sink.
func outboundServer(t *testing.T, edit func(*config.Config)) (*Server, *sinkMX, *syncbuf.Buffer) {
	t.Helper()
	sink := &sinkMX{}
	ms := gosmtp.NewServer(gosmtp.BackendFunc(func(*gosmtp.Conn) (gosmtp.Session, error) { return &sinkSession{s: sink}, nil }))
	ms.Domain = "mx.remote.test"
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	sink.port = ln.Addr().(*net.TCPAddr).Port
	go ms.Serve(ln)
	t.Cleanup(func() { ms.Close() })
	dns, err := mockdns.NewServerWithLogger(map[string]mockdns.Zone{
		"remote.test.":    {MX: []net.MX{{Host: "mx.remote.test.", Pref: 10}}},
		"mx.remote.test.": {A: []string{"127.0.0.1"}},
	}, quietDNS{}, false)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dns.Close() })

	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.Domains = []string{"example.org"}
	cfg.Accounts.AutoCreate = false
	cfg.TLS.SelfSigned = false
	cfg.IMAP.Listen, cfg.IMAP.TLSListen, cfg.IMMP.Listen, cfg.IMMP.TLSListen, cfg.HTTP.Listen = "", "", "", "", ""
	cfg.SMTP.Listen, cfg.Submission.Listen = "127.0.0.1:0", "127.0.0.1:0"
	cfg.Testbed.Enabled, cfg.Testbed.Capture = false, false // capture would keep foreign mail here
	cfg.Outbound.Enabled = true
	cfg.Outbound.Resolver = dns.LocalAddr().String()
	cfg.Outbound.MXPort = sink.port
	cfg.Outbound.RetryInitial = config.Duration(100 * time.Millisecond)
	if edit != nil {
		edit(&cfg)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	var logs syncbuf.Buffer
	srv, err := Start(context.Background(), Options{Config: cfg, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { srv.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	if _, err := srv.store.AddAccount(context.Background(), "alice@example.org", "pw-alice"); err != nil {
		t.Fatal(err)
	}
	return srv, sink, &logs
}

type quietDNS struct{}

func (quietDNS) Printf(string, ...any) {}

// send runs one transaction; auth logs in first. It returns the error of
// the first refused step.
func send(t *testing.T, addr string, auth bool, from string, rcpts []string, body string) (string, error) {
	t.Helper()
	c, err := gosmtp.Dial(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if auth {
		if err := c.Auth(sasl.NewPlainClient("", "alice@example.org", "pw-alice")); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Mail(from, nil); err != nil {
		return "", err
	}
	for _, r := range rcpts {
		if err := c.Rcpt(r, nil); err != nil {
			return "", err
		}
	}
	w, err := c.Data()
	if err != nil {
		return "", err
	}
	io.WriteString(w, body)
	resp, err := w.CloseWithResponse()
	if err != nil {
		return "", err
	}
	return resp.StatusText, nil
}

const testBody = "From: <alice@example.org>\r\nTo: <bob@remote.test>\r\nSubject: hi\r\nMessage-ID: <1@example.org>\r\n\r\nhello\r\n"

func code(err error) int {
	var se *gosmtp.SMTPError
	if errors.As(err, &se) {
		return se.Code
	}
	return 0
}

// TestNoOpenRelay: with outbound on, only a logged-in submission client
// (or one from smtp.trusted_networks) may send to another domain.
func TestNoOpenRelay(t *testing.T) {
	t.Parallel()
	srv, sink, _ := outboundServer(t, nil)
	// Port 25 from loopback, not a trusted network: refused at RCPT.
	_, err := send(t, srv.Addr("smtp.listen"), false, "someone@elsewhere.test", []string{"bob@remote.test"}, testBody)
	if code(err) != 550 || !strings.Contains(err.Error(), "Relay access denied") {
		t.Errorf("port 25 relay attempt: %v", err)
	}
	// Submission without login: refused at MAIL.
	if _, err := send(t, srv.Addr("submission.listen"), false, "alice@example.org", []string{"bob@remote.test"}, testBody); code(err) != 530 {
		t.Errorf("submission without AUTH: %v", err)
	}
	// Submission with login: queued and delivered.
	reply, err := send(t, srv.Addr("submission.listen"), true, "alice@example.org", []string{"bob@remote.test"}, testBody)
	if err != nil || !strings.Contains(reply, "queued as") {
		t.Fatalf("authenticated submission: %q %v", reply, err)
	}
	waitUntil(t, 5*time.Second, func() bool { return len(sink.messages()) == 1 })
	time.Sleep(200 * time.Millisecond)
	if n := len(sink.messages()); n != 1 {
		t.Errorf("sink got %d messages, want only the authenticated one", n)
	}
	if m := sink.messages()[0]; !strings.Contains(m, "Received: from ") || !strings.Contains(m, "Subject: hi") {
		t.Errorf("relayed message:\n%s", m)
	}
}

// TestTrustedNetworkRelays: a client in smtp.trusted_networks may queue
// mail for other domains on port 25 without logging in.
func TestTrustedNetworkRelays(t *testing.T) {
	t.Parallel()
	srv, sink, _ := outboundServer(t, func(c *config.Config) { c.SMTP.TrustedNetworks = []string{"127.0.0.0/8"} })
	bare := "From: <app@example.org>\r\nTo: <bob@remote.test>\r\nSubject: from the app\r\n\r\nhello\r\n"
	if _, err := send(t, srv.Addr("smtp.listen"), false, "app@example.org", []string{"bob@remote.test"}, bare); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 5*time.Second, func() bool { return len(sink.messages()) == 1 })
	// Relayed without a login, it gets what submission would add.
	hdr, _, _ := strings.Cut(sink.messages()[0], "\r\n\r\n")
	if !strings.Contains(hdr, "\r\nDate: ") || !regexp.MustCompile(`\r\nMessage-ID: <[A-Z0-9]{16}@[^>]+>`).MatchString(hdr) {
		t.Errorf("no Date and Message-ID added to the relayed message:\n%s", hdr)
	}
}

// TestOutboundOffRefuses: outbound off (the default), a logged-in client
// hears that there is no relay.
func TestOutboundOffRefuses(t *testing.T) {
	t.Parallel()
	srv, _, _ := outboundServer(t, func(c *config.Config) {
		c.Outbound.Enabled = false
		c.SMTP.TrustedNetworks = []string{"127.0.0.0/8"}
	})
	_, err := send(t, srv.Addr("submission.listen"), true, "alice@example.org", []string{"bob@remote.test"}, testBody)
	if code(err) != 550 || !strings.Contains(err.Error(), "outbound relay is not configured") {
		t.Errorf("got %v", err)
	}
	_, err = send(t, srv.Addr("smtp.listen"), false, "x@elsewhere.test", []string{"bob@remote.test"}, testBody)
	if code(err) != 550 {
		t.Errorf("port 25 with outbound off: %v", err)
	}
}

// TestBounceInSendersInbox: a recipient the remote MX refuses with 550
// produces a DSN in the local sender's INBOX, a multipart/report; the
// other recipients, local and remote, get the message.
func TestBounceInSendersInbox(t *testing.T) {
	t.Parallel()
	srv, sink, logs := outboundServer(t, nil)
	if _, err := srv.store.AddAccount(context.Background(), "carol@example.org", "pw-carol"); err != nil {
		t.Fatal(err)
	}
	reply, err := send(t, srv.Addr("submission.listen"), true, "alice@example.org",
		[]string{"bob@remote.test", "nobody@remote.test", "carol@example.org"}, testBody)
	if err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 5*time.Second, func() bool { return len(sink.messages()) == 1 })
	if !strings.HasPrefix(sink.messages()[0], "bob@remote.test|") {
		t.Errorf("sink got %q", sink.messages()[0][:40])
	}
	if n := len(maildirFiles(t, srv, "carol@example.org")); n != 1 {
		t.Errorf("local recipient has %d messages (reply %q)", n, reply)
	}
	var files []string
	waitUntil(t, 5*time.Second, func() bool { files = maildirFiles(t, srv, "alice@example.org"); return len(files) == 1 })
	raw, _ := os.ReadFile(files[0])
	e, err := message.Read(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	ct, params, _ := e.Header.ContentType()
	if ct != "multipart/report" || params["report-type"] != "delivery-status" {
		t.Fatalf("bounce is %s %v:\n%s", ct, params, raw)
	}
	if !bytes.Contains(raw, []byte("Final-Recipient: rfc822; nobody@remote.test")) || !bytes.Contains(raw, []byte("Status: 5.1.1")) ||
		!bytes.Contains(raw, []byte("Return-Path: <>")) {
		t.Errorf("bounce:\n%s", raw)
	}
	if !strings.Contains(logs.String(), "status=bounced (550 5.1.1 no such user here)") {
		t.Errorf("log:\n%s", logs)
	}
}

// maildirFiles lists the messages in an account's INBOX.
func maildirFiles(t *testing.T, srv *Server, addr string) []string {
	local, domain, _ := strings.Cut(addr, "@")
	base := filepath.Join(srv.cfg.DataDir, "mail", domain, local, "Maildir")
	var out []string
	for _, sub := range []string{"new", "cur"} {
		ents, _ := os.ReadDir(filepath.Join(base, sub))
		for _, e := range ents {
			out = append(out, filepath.Join(base, sub, e.Name()))
		}
	}
	return out
}

func waitUntil(t *testing.T, limit time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("condition not met within %v", limit)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
