package admin

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"embed"
	"encoding/hex"
	"errors"
	"html/template"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"sync"
	"time"

	"github.com/immp-mail/immp/internal/throttle"
	"github.com/immp-mail/immp/maildir"
)

// Limits.
const (
	SessionTTL   = 12 * time.Hour
	MaxSessions  = 64               // oldest dropped beyond this
	MaxFormBytes = 8 << 10          // a form is an address, a password and a quota
	FormTimeout  = 10 * time.Second // a POST's form must be in within it
	cookieName   = "immp_admin"
)

// csp allows no script at all, the stylesheet of this package, forms
// posting to this origin only, and no framing (clickjacking).
const csp = "default-src 'none'; style-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

//go:embed assets
var assets embed.FS

// Options configure the page.
type Options struct {
	Store        *maildir.Store
	Hostname     string
	Domains      []string
	DefaultQuota int64 // [accounts] quota, for display
	Password     string
	Logger       *slog.Logger
	// Queue tells the outbound queue's size; nil: the server has no
	// outbound queue and the page says so.
	Queue func(context.Context) (int, error)
	// Throttle slows down failed logins; nil: one of the page's own.
	Throttle *throttle.Limiter
}

// Handler serves /admin/.
type Handler struct {
	opts Options
	tmpl *template.Template
	log  *slog.Logger
	css  []byte
	// bodyTimeout bounds the time a POST's form may take to arrive
	// (FormTimeout; tests shorten it).
	bodyTimeout time.Duration

	mu       sync.Mutex
	password [32]byte // SHA-256 of the admin password
	sessions map[string]*session
}

type session struct {
	csrf    string
	expires time.Time
	flash   string // message for the next page view (post/redirect/get)
}

// New builds the page; it fails only if its embedded files are broken.
func New(opts Options) (*Handler, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Throttle == nil {
		opts.Throttle = throttle.New(throttle.Options{})
	}
	tmpl, err := template.ParseFS(assets, "assets/page.html")
	if err != nil {
		return nil, err
	}
	css, err := assets.ReadFile("assets/admin.css")
	if err != nil {
		return nil, err
	}
	h := &Handler{opts: opts, tmpl: tmpl, log: opts.Logger, css: css, sessions: map[string]*session{},
		bodyTimeout: FormTimeout}
	h.SetPassword(opts.Password)
	return h, nil
}

// SetPassword replaces the admin password (SIGHUP); a new one ends every
// session.
func (h *Handler) SetPassword(pw string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	sum := sha256.Sum256([]byte(pw))
	if sum != h.password {
		h.password = sum
		clear(h.sessions)
	}
}

// Mount adds the page's routes to mux.
func (h *Handler) Mount(mux *http.ServeMux) {
	mux.Handle("GET /admin/{$}", h.secure(h.view))
	mux.Handle("GET /admin/static/admin.css", h.secure(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/css; charset=utf-8")
		w.Header().Set("Cache-Control", "max-age=3600")
		w.Write(h.css)
	}))
	mux.Handle("POST /admin/login", h.secure(h.login))
	mux.Handle("POST /admin/logout", h.secure(h.authed(h.logout)))
	mux.Handle("POST /admin/accounts", h.secure(h.authed(h.addAccount)))
	mux.Handle("POST /admin/accounts/delete", h.secure(h.authed(h.deleteAccount)))
	mux.Handle("POST /admin/accounts/password", h.secure(h.authed(h.setPassword)))
}

// secure sets the headers every answer has and bounds the body.
func (h *Handler) secure(next http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Content-Security-Policy", csp)
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("X-Frame-Options", "DENY")
		hd.Set("Referrer-Policy", "no-referrer")
		hd.Set("Cache-Control", "no-store")
		r.Body = http.MaxBytesReader(w, r.Body, MaxFormBytes)
		if r.Method == http.MethodPost {
			// A form trickled an octet at a time must not hold the
			// connection forever (the HTTP server has no ReadTimeout:
			// it would end the API's event streams). The deadline
			// stays: after a form that did not come in time the server
			// does not wait for the rest and closes the connection.
			http.NewResponseController(w).SetReadDeadline(time.Now().Add(h.bodyTimeout))
		}
		next(w, r)
	})
}

// errForbidden is a POST without a valid session and CSRF token, or from
// another site.
var errForbidden = errors.New("forbidden: log in again (missing or stale session or form token)")

// authed runs next only for a POST with a live session whose CSRF token
// the form carries, from this origin.
func (h *Handler) authed(next func(http.ResponseWriter, *http.Request, *session)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			http.Error(w, "bad form: "+err.Error(), http.StatusBadRequest)
			return
		}
		s := h.session(r)
		if s == nil || !sameOrigin(r) ||
			subtle.ConstantTimeCompare([]byte(r.PostForm.Get("csrf")), []byte(s.csrf)) != 1 {
			h.log.Warn("admin: refused a request without a valid session and form token", "path", r.URL.Path, "remote", r.RemoteAddr)
			http.Error(w, errForbidden.Error(), http.StatusForbidden)
			return
		}
		next(w, r, s)
	}
}

// sameOrigin refuses a request that a browser says comes from another
// site (Origin, RFC 6454 7; Sec-Fetch-Site). A request without either
// (curl, an old browser) is judged by its CSRF token alone.
func sameOrigin(r *http.Request) bool {
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" && site != "none" {
		return false
	}
	o := r.Header.Get("Origin")
	if o == "" {
		return true
	}
	u, err := url.Parse(o)
	return err == nil && u.Host == r.Host
}

// session returns the live session of the request's cookie, or nil.
func (h *Handler) session(r *http.Request) *session {
	c, err := r.Cookie(cookieName)
	if err != nil {
		return nil
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	s := h.sessions[c.Value]
	if s == nil {
		return nil
	}
	if time.Now().After(s.expires) {
		delete(h.sessions, c.Value)
		return nil
	}
	return s
}

func randomToken() string {
	var b [32]byte
	rand.Read(b[:]) // never fails (crypto/rand)
	return hex.EncodeToString(b[:])
}

func (h *Handler) login(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil || !sameOrigin(r) {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	ip := clientIP(r)
	a, err := h.opts.Throttle.Begin(r.Context(), ip, "admin")
	if err != nil {
		http.Error(w, "too many login attempts; try again later", http.StatusTooManyRequests)
		return
	}
	sum := sha256.Sum256([]byte(r.PostForm.Get("password")))
	h.mu.Lock()
	ok := subtle.ConstantTimeCompare(sum[:], h.password[:]) == 1
	h.mu.Unlock()
	if !ok {
		a.Failure()
		h.log.Warn("admin: login failed", "remote", r.RemoteAddr)
		w.WriteHeader(http.StatusUnauthorized)
		h.render(w, "login", pageData{Hostname: h.opts.Hostname, Error: "Wrong password."})
		return
	}
	a.Success()
	token := randomToken()
	h.mu.Lock()
	h.dropOldLocked()
	h.sessions[token] = &session{csrf: randomToken(), expires: time.Now().Add(SessionTTL)}
	h.mu.Unlock()
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: token, Path: "/admin/", HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil, MaxAge: int(SessionTTL / time.Second)})
	h.log.Info("admin: logged in", "remote", r.RemoteAddr)
	http.Redirect(w, r, "/admin/", http.StatusSeeOther)
}

// dropOldLocked keeps the session table bounded: expired ones go, then
// the oldest beyond MaxSessions-1.
func (h *Handler) dropOldLocked() {
	now := time.Now()
	for k, s := range h.sessions {
		if now.After(s.expires) {
			delete(h.sessions, k)
		}
	}
	for len(h.sessions) >= MaxSessions {
		var oldest string
		for k, s := range h.sessions {
			if oldest == "" || s.expires.Before(h.sessions[oldest].expires) {
				oldest = k
			}
		}
		delete(h.sessions, oldest)
	}
}

func (h *Handler) logout(w http.ResponseWriter, r *http.Request, _ *session) {
	if c, err := r.Cookie(cookieName); err == nil {
		h.mu.Lock()
		delete(h.sessions, c.Value)
		h.mu.Unlock()
	}
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: "", Path: "/admin/", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteStrictMode})
	http.Redirect(w, r, "/admin/", http.StatusSeeOther)
}

func clientIP(r *http.Request) netip.Addr {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return netip.Addr{}
	}
	a, _ := netip.ParseAddr(host)
	return a.Unmap()
}
