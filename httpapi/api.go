package httpapi

import (
	"context"
	"crypto/subtle"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/immp-mail/immp/internal/chaos"
	"github.com/immp-mail/immp/maildir"
)

// Options configure the API.
type Options struct {
	Store *maildir.Store // required
	// Chaos is the SMTP servers' fault rules engine; nil: the chaos
	// routes answer 404.
	Chaos *chaos.Engine
	// Testbed is the test-bed profile ([testbed] enabled): the API is
	// open without a token (unless Token is set) and may create and
	// delete accounts and change chaos rules.
	Testbed bool
	// Token, when set, is required as "Authorization: Bearer <token>"
	// on every request ([http] api_token_file). Without it and outside
	// the test-bed profile the API is off.
	Token string
	// AccountsChanged is called after the API created or deleted an
	// account (the spam guard caches accounts).
	AccountsChanged func()
	Logger          *slog.Logger
}

// API serves /api/v1/. Shutdown ends its long-lived answers (wait,
// events) so that the HTTP server's own Shutdown can finish.
type API struct {
	opts Options
	log  *slog.Logger
	mux  *http.ServeMux
	envs envCache

	bodyTimeout time.Duration // a request body must be in within it (one.go)

	// afterScan, when set (tests only), runs between a wait's first look
	// at what is stored and its waiting: the moment a message stored
	// must not be missed (TestWaitSubscribesFirst).
	afterScan func()

	stop    chan struct{} // closed by Shutdown
	mu      sync.Mutex    // guards stopped and streams.Add
	stopped bool
	streams sync.WaitGroup // wait and events answers in progress
}

// envCacheMax bounds the envelope cache (entries of a few hundred
// octets each).
const envCacheMax = 200000

// New builds the API.
func New(opts Options) (*API, error) {
	if opts.Store == nil {
		return nil, errors.New("httpapi: Store is required")
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	a := &API{opts: opts, log: log, mux: http.NewServeMux(), stop: make(chan struct{}), bodyTimeout: defaultBodyTimeout}
	a.envs.max = envCacheMax
	a.routes()
	return a, nil
}

// Enabled says whether the API answers at all.
func (a *API) Enabled() bool { return a.opts.Testbed || a.opts.Token != "" }

// route is one documented route (docs/api.md, docs/openapi.yaml).
type route struct {
	pattern string // "METHOD /path"
	h       http.HandlerFunc
}

func (a *API) routeList() []route {
	return []route{
		{"GET /api/v1/messages", a.listMessages},
		{"DELETE /api/v1/messages", a.deleteMessages},
		{"GET /api/v1/messages/wait", a.wait},
		{"GET /api/v1/messages/{id}", a.getMessage},
		{"PATCH /api/v1/messages/{id}", a.patchMessage},
		{"DELETE /api/v1/messages/{id}", a.deleteMessage},
		{"GET /api/v1/messages/{id}/raw", a.rawMessage},
		{"GET /api/v1/messages/{id}/attachments/{n}", a.attachment},
		{"GET /api/v1/events", a.events},
		{"GET /api/v1/accounts", a.listAccounts},
		{"POST /api/v1/accounts", a.testbedOnly(a.createAccount)},
		{"DELETE /api/v1/accounts/{address}", a.testbedOnly(a.deleteAccount)},
		{"GET /api/v1/accounts/{address}/folders", a.listFolders},
		{"GET /api/v1/chaos", a.listChaos},
		{"POST /api/v1/chaos", a.testbedOnly(a.addChaos)},
		{"DELETE /api/v1/chaos", a.testbedOnly(a.resetChaos)},
		{"DELETE /api/v1/chaos/{id}", a.testbedOnly(a.removeChaos)},
	}
}

func (a *API) routes() {
	for _, r := range a.routeList() {
		a.mux.HandleFunc(r.pattern, r.h)
	}
	a.mux.HandleFunc("/api/v1/", func(w http.ResponseWriter, r *http.Request) {
		a.writeError(w, r, errorf(http.StatusNotFound, "no such route: %s %s (docs/api.md)", r.Method, r.URL.Path))
	})
}

// ServeHTTP answers one request under /api/v1/: off, unauthorised or
// routed.
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !a.Enabled() {
		a.writeError(w, r, errorf(http.StatusNotFound,
			"the HTTP API is off: set [http] api_token_file (a bearer token) or [testbed] enabled"))
		return
	}
	if r.Header.Get("Sec-Fetch-Site") == "cross-site" {
		// A browser on another site's page (Fetch Metadata): never,
		// token or not; the web UI is same-origin.
		a.writeError(w, r, errorf(http.StatusForbidden, "cross-site requests are refused"))
		return
	}
	if a.opts.Token != "" && !a.authorized(r) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="immp"`) // RFC 6750 3
		a.writeError(w, r, errorf(http.StatusUnauthorized, "a bearer token is required (Authorization: Bearer <token of http.api_token_file>)"))
		return
	}
	a.mux.ServeHTTP(w, r)
}

func (a *API) authorized(r *http.Request) bool {
	h := r.Header.Get("Authorization")
	scheme, tok, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(strings.TrimSpace(tok)), []byte(a.opts.Token)) == 1
}

// testbedOnly guards what only a test bed may do.
func (a *API) testbedOnly(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !a.opts.Testbed {
			a.writeError(w, r, errorf(http.StatusForbidden, "only in the test-bed profile ([testbed] enabled)"))
			return
		}
		h(w, r)
	}
}

// Shutdown ends every wait and event stream, and waits for them to
// return (or ctx to end).
func (a *API) Shutdown(ctx context.Context) error {
	a.mu.Lock()
	if !a.stopped {
		a.stopped = true
		close(a.stop)
	}
	a.mu.Unlock()
	done := make(chan struct{})
	go func() { a.streams.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// beginStream registers a long-lived answer; false once shutting down.
func (a *API) beginStream() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.stopped {
		return false
	}
	a.streams.Add(1)
	return true
}
