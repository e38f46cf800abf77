package outbound

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"log/slog"
	"math/big"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	gosmtp "github.com/emersion/go-smtp"
	"github.com/foxcpp/go-mockdns"

	"github.com/immp-mail/immp/internal/resolver"
	"github.com/immp-mail/immp/internal/syncbuf"
)

// received is one message as the test MX got it.
type received struct {
	from  string
	rcpts []string
	data  []byte
	tls   bool
	auth  string
}

// mx is a go-smtp receiving server on loopback with scripted replies.
type mx struct {
	srv   *gosmtp.Server
	addr  string
	port  int
	mu    sync.Mutex
	got   []received
	conns int
	// open counts sessions open at once; maxSessions > 0
	// refuses more (451 to EHLO).
	open, maxSessions int
	// inData and maxInData count transfers (DATA) under way at once. A
	// bound on connections shows there: a session counts as open until
	// the server has run its Logout, which can come just after the
	// client, told 221, has freed its slot and opened the next one.
	inData, maxInData int
	// rcptReply and dataReply, when set, decide the replies (nil: accept).
	rcptReply func(to string) error
	dataReply func(n int) error // n counts DATA commands so far, from 1
	datas     int
	needAuth  bool // AUTH PLAIN user/secret before MAIL
	delay     time.Duration
	arrived   chan struct{}
}

type mxSession struct {
	m    *mx
	c    *gosmtp.Conn
	from string
	to   []string
	auth string
}

func (s *mxSession) Reset() { s.from, s.to = "", nil }
func (s *mxSession) Logout() error {
	s.m.mu.Lock()
	s.m.open--
	s.m.mu.Unlock()
	return nil
}
func (s *mxSession) AuthMechanisms() []string {
	if !s.m.needAuth {
		return nil
	}
	return []string{sasl.Plain}
}
func (s *mxSession) Auth(mech string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(identity, user, pass string) error {
		if user != "user" || pass != "secret" {
			return errors.New("bad credentials")
		}
		s.auth = user
		return nil
	}), nil
}
func (s *mxSession) Mail(from string, _ *gosmtp.MailOptions) error {
	if s.m.needAuth && s.auth == "" {
		return gosmtp.ErrAuthRequired
	}
	s.from = from
	return nil
}
func (s *mxSession) Rcpt(to string, _ *gosmtp.RcptOptions) error {
	s.m.mu.Lock()
	f := s.m.rcptReply
	s.m.mu.Unlock()
	if f != nil {
		if err := f(to); err != nil {
			return err
		}
	}
	s.to = append(s.to, to)
	return nil
}
func (s *mxSession) Data(r io.Reader) error {
	s.m.mu.Lock()
	s.m.inData++
	s.m.maxInData = max(s.m.maxInData, s.m.inData)
	s.m.mu.Unlock()
	defer func() {
		s.m.mu.Lock()
		s.m.inData--
		s.m.mu.Unlock()
	}()
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if s.m.delay > 0 {
		time.Sleep(s.m.delay)
	}
	s.m.mu.Lock()
	s.m.datas++
	n, f := s.m.datas, s.m.dataReply
	s.m.mu.Unlock()
	if f != nil {
		if err := f(n); err != nil {
			return err
		}
	}
	_, isTLS := s.c.TLSConnectionState()
	s.m.mu.Lock()
	s.m.got = append(s.m.got, received{from: s.from, rcpts: s.to, data: b, tls: isTLS, auth: s.auth})
	s.m.mu.Unlock()
	select {
	case s.m.arrived <- struct{}{}:
	default:
	}
	return nil
}

// startMX runs a receiving server on 127.0.0.1; cfg non-nil offers
// STARTTLS with it.
func startMX(t testing.TB, cfg *tls.Config) *mx {
	t.Helper()
	m := &mx{arrived: make(chan struct{}, 1)}
	s := gosmtp.NewServer(gosmtp.BackendFunc(func(c *gosmtp.Conn) (gosmtp.Session, error) {
		m.mu.Lock()
		if m.maxSessions > 0 && m.open >= m.maxSessions {
			m.mu.Unlock()
			return nil, errors.New("too many connections")
		}
		m.conns++
		m.open++
		m.mu.Unlock()
		return &mxSession{m: m, c: c}, nil
	}))
	s.Domain = "mx.test"
	s.TLSConfig = cfg
	s.AllowInsecureAuth = false
	s.EnableSMTPUTF8 = true
	s.MaxMessageBytes = 10 << 20
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	m.srv, m.addr = s, ln.Addr().String()
	m.port = ln.Addr().(*net.TCPAddr).Port
	go s.Serve(ln)
	t.Cleanup(func() { s.Close() })
	return m
}

func (m *mx) messages() []received {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]received(nil), m.got...)
}

// waitFor polls cond until it holds or the time is up.
func waitFor(t testing.TB, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", limit, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// dns runs an in-process DNS server with zones (names with or without
// the final dot).
func startDNS(t testing.TB, zones map[string]mockdns.Zone) (*mockdns.Server, *net.Resolver) {
	t.Helper()
	z := map[string]mockdns.Zone{}
	for k, v := range zones {
		if !strings.HasSuffix(k, ".") {
			k += "."
		}
		z[k] = v
	}
	srv, err := mockdns.NewServerWithLogger(z, quietDNS{}, false)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv, resolver.New(srv.LocalAddr().String(), 2*time.Second)
}

// bounces records what the queue files locally (bounces to local
// senders): the Local a Queue needs, for tests of the queue alone; the
// server package's tests file them into real mailboxes.
type bounces struct {
	domain string
	mu     sync.Mutex
	got    map[string][][]byte
}

func (b *bounces) IsLocal(addr string) bool {
	return strings.EqualFold(domainOf(addr), b.domain)
}

func (b *bounces) DeliverLocal(_ context.Context, rcpt string, msg []byte) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.got == nil {
		b.got = map[string][][]byte{}
	}
	b.got[rcpt] = append(b.got[rcpt], bytes.Clone(msg))
	return nil
}

func (b *bounces) to(rcpt string) [][]byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.got[rcpt]
}

// testQueue opens a queue in a temporary directory with fast retries.
func testQueue(t testing.TB, opts Options) (*Queue, *syncbuf.Buffer) {
	t.Helper()
	if opts.Dir == "" {
		opts.Dir = t.TempDir()
	}
	if opts.Local == nil {
		opts.Local = &bounces{domain: "local.test"}
	}
	if opts.Hostname == "" {
		opts.Hostname = "out.local.test"
	}
	if opts.RetryInitial == 0 {
		opts.RetryInitial = 100 * time.Millisecond
	}
	if opts.DialTimeout == 0 {
		opts.DialTimeout = 2 * time.Second
	}
	var logs syncbuf.Buffer
	opts.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	q, err := Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	q.Run()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		q.Shutdown(ctx)
	})
	return q, &logs
}

func testMessage(subject string) []byte {
	return []byte("From: <alice@local.test>\r\nTo: <bob@remote.test>\r\nSubject: " + subject +
		"\r\nMessage-ID: <" + subject + "@local.test>\r\n\r\nHello " + subject + "\r\n")
}

func enqueue(t testing.TB, q *Queue, sender string, rcpts []string, msg []byte) string {
	t.Helper()
	id, err := q.Enqueue(context.Background(), Message{Sender: sender, Recipients: rcpts}, msg)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// certFor makes a self-signed certificate for names and a pool trusting it.
func certFor(t testing.TB, names ...string) (*tls.Config, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: names[0]},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true, IsCA: true, DNSNames: names,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}}}, pool
}

func portStr(p int) string { return strconv.Itoa(p) }

type quietDNS struct{}

func (quietDNS) Printf(string, ...any) {}
