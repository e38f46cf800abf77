package immptest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/immp-mail/immp/config"
	"github.com/immp-mail/immp/server"
)

// Options change what New starts; the zero value is the test-bed
// profile on random loopback ports.
type Options struct {
	// Domains are the server's own domains (default "localhost"); with
	// capture every other domain is accepted too.
	Domains []string
	// NoCapture turns [testbed] capture off: mail only for Domains.
	NoCapture bool
	// Configure, if set, may change the configuration before the start
	// (listeners stay on random ports unless it sets them).
	Configure func(*config.Config)
	// Logger receives the server's log; nil discards it (set
	// IMMPTEST_LOG=1 to log to standard error instead).
	Logger *slog.Logger
}

// Server is a running immp. Its address fields are "127.0.0.1:PORT".
type Server struct {
	SMTP, Submission, IMAP, IMAPS, IMMP, HTTP string
	// URL is the HTTP API's base, "http://127.0.0.1:PORT".
	URL string
	// DataDir is the server's data directory.
	DataDir string

	srv     *server.Server
	cancel  context.CancelFunc
	done    chan error
	ownDir  bool
	closeMu sync.Mutex
	closed  bool
}

// Start starts a server for a test and closes it when the test (and its
// subtests) end. It fails the test if the server cannot start.
func Start(tb testing.TB, opts ...Options) *Server {
	tb.Helper()
	var o Options
	if len(opts) > 0 {
		o = opts[0]
	}
	s, err := New(context.Background(), o)
	if err != nil {
		tb.Fatalf("immptest: %v", err)
	}
	tb.Cleanup(func() {
		if err := s.Close(); err != nil {
			tb.Errorf("immptest: close: %v", err)
		}
	})
	return s
}

// New starts a server; Close it when done. ctx bounds the start only.
func New(ctx context.Context, o Options) (*Server, error) {
	dir, err := os.MkdirTemp("", "immptest-")
	if err != nil {
		return nil, err
	}
	cfg := config.Default()
	cfg.DataDir = dir
	if len(o.Domains) > 0 {
		cfg.Domains = o.Domains
	}
	cfg.Testbed.Capture = !o.NoCapture
	cfg.SMTP.Listen, cfg.Submission.Listen = "127.0.0.1:0", "127.0.0.1:0"
	cfg.IMAP.Listen, cfg.IMAP.TLSListen = "127.0.0.1:0", "127.0.0.1:0"
	cfg.IMMP.Listen, cfg.IMMP.TLSListen = "127.0.0.1:0", "127.0.0.1:0"
	cfg.HTTP.Listen = "127.0.0.1:0"
	cfg.ShutdownGrace = config.Duration(2 * time.Second)
	if o.Configure != nil {
		o.Configure(&cfg)
	}
	if err := cfg.Validate(); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	log := o.Logger
	if log == nil && os.Getenv("IMMPTEST_LOG") != "" {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	srv, err := server.Start(ctx, server.Options{Config: cfg, Logger: log, Version: "immptest"})
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	runCtx, cancel := context.WithCancel(context.Background())
	s := &Server{
		SMTP: srv.Addr("smtp.listen"), Submission: srv.Addr("submission.listen"),
		IMAP: srv.Addr("imap.listen"), IMAPS: srv.Addr("imap.tls_listen"),
		IMMP: srv.Addr("immp.listen"), HTTP: srv.Addr("http.listen"),
		DataDir: dir, srv: srv, cancel: cancel, done: make(chan error, 1), ownDir: true,
	}
	if s.HTTP != "" {
		s.URL = "http://" + s.HTTP
	}
	go func() { s.done <- srv.Run(runCtx) }()
	if err := s.waitReady(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// waitReady returns once Run has marked the server ready (listeners are
// bound before Start returns, so connections are queued meanwhile
// anyway).
func (s *Server) waitReady(ctx context.Context) error {
	for !s.srv.Ready() {
		select {
		case err := <-s.done:
			s.done <- err
			return fmt.Errorf("server stopped: %v", err)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Millisecond):
		}
	}
	return nil
}

// Close stops the server and removes its data directory.
func (s *Server) Close() error {
	s.closeMu.Lock()
	defer s.closeMu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	s.cancel()
	var err error
	select {
	case err = <-s.done:
	case <-time.After(30 * time.Second):
		err = errors.New("server did not stop within 30s")
	}
	if s.ownDir {
		err = errors.Join(err, os.RemoveAll(s.DataDir))
	}
	return err
}
