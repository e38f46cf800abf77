package server

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/immp-mail/immp/internal/logrl"
)

// httpLog writes one line per HTTP request with the keys every protocol
// uses (docs/logging.md): proto=http, session (the connection's number),
// remote, cmd (the method), path, status, dur_ms and bytes. Probes
// (/healthz, /readyz, /metrics) that succeed are at debug level, so a
// monitoring system polling every few seconds leaves no trace at info.
// Lines share one server-wide budget (internal/logrl): a client sending
// requests in a loop cannot fill the disk.
type httpLog struct {
	log  *slog.Logger
	next http.Handler
	ids  atomic.Uint64
}

func newHTTPLog(log *slog.Logger, next http.Handler) *httpLog {
	l := slog.New(logrl.Wrap(log.Handler(), logrl.NewLimiter(logrl.ServerBudget(), nil))).With("proto", "http")
	return &httpLog{log: l, next: next}
}

type httpSessionKey struct{}

// connContext numbers each connection (http.Server.ConnContext).
func (h *httpLog) connContext(ctx context.Context, _ net.Conn) context.Context {
	return context.WithValue(ctx, httpSessionKey{}, h.ids.Add(1))
}

func (h *httpLog) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
	defer func() {
		level := slog.LevelInfo
		switch r.URL.Path {
		case "/healthz", "/readyz", "/metrics":
			if rw.status < 300 {
				level = slog.LevelDebug
			}
		}
		remote := r.RemoteAddr
		if ap, err := netip.ParseAddrPort(remote); err == nil {
			remote = ap.Addr().Unmap().String()
		}
		session, _ := r.Context().Value(httpSessionKey{}).(uint64)
		h.log.Log(r.Context(), level, "http request", "session", session, "remote", remote,
			"cmd", r.Method, "path", r.URL.Path, "status", rw.status,
			"dur_ms", float64(time.Since(start).Microseconds())/1000, "bytes", rw.bytes)
	}()
	h.next.ServeHTTP(rw, r)
}

// statusWriter remembers the status and counts the body.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
	wrote  bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wrote {
		w.status, w.wrote = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	w.wrote = true
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

// Flush passes on to the underlying writer (streams).
func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
