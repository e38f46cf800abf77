// Package recovery is how immp's servers survive a panic in one
// connection: the panic is logged once, at Error, with its stack, that
// connection is closed, and the server goes on serving the others. It is
// the last line of defence, not error handling: a panic is a bug, and
// the log line is what gets it fixed.
package recovery

import (
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
)

// Log writes one Error record for a recovered panic value v, with the
// stack of the goroutine that panicked (call it from the deferred
// function that recovered) and attrs saying where.
func Log(log *slog.Logger, msg string, v any, attrs ...any) {
	attrs = append(attrs, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
	log.Error(msg, attrs...)
}

// Logged wraps a panic value that has already been logged, for code that
// panics again so that a library's own recovery closes the connection;
// the library's log line for it can then be told apart and lowered.
type Logged struct{ V any }

// LoggedMarker starts Logged's text.
const LoggedMarker = "panic already logged: "

func (l Logged) String() string { return LoggedMarker + fmt.Sprint(l.V) }
func (l Logged) Error() string  { return l.String() }

// Handler recovers a panic in an HTTP handler: it is logged with its
// stack, and the request is aborted with http.ErrAbortHandler, on which
// net/http closes the connection (or resets the stream) without logging
// again. http.ErrAbortHandler itself passes through unlogged.
func Handler(log *slog.Logger, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			if v != http.ErrAbortHandler {
				Log(log, "panic serving HTTP request", v, "method", r.Method, "path", r.URL.Path, "remote", r.RemoteAddr)
			}
			panic(http.ErrAbortHandler)
		}()
		h.ServeHTTP(w, r)
	})
}
