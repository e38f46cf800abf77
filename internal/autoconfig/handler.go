package autoconfig

import (
	"errors"
	"io"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/immp-mail/immp/maildir"
)

// MaxRequestBytes bounds an Autodiscover request body; a real one is
// under 1 KiB.
const MaxRequestBytes = 64 << 10

// RequestTimeout bounds the time an Autodiscover request body may take
// to arrive: one trickled an octet at a time must not hold a connection
// forever (the HTTP server has no ReadTimeout, which would end the API's
// event streams).
const RequestTimeout = 10 * time.Second

// Mount adds the autoconfiguration routes to mux.
func Mount(mux *http.ServeMux, s Settings, log *slog.Logger) {
	h := &handler{s: s, log: log, bodyTimeout: RequestTimeout}
	mux.HandleFunc("GET /.well-known/autoconfig/mail/config-v1.1.xml", h.thunderbird)
	mux.HandleFunc("GET /mail/config-v1.1.xml", h.thunderbird)
	for _, p := range []string{"/autodiscover/autodiscover.xml", "/Autodiscover/Autodiscover.xml"} {
		mux.HandleFunc("GET "+p, h.autodiscover)
		mux.HandleFunc("POST "+p, h.autodiscover)
	}
	mux.HandleFunc("GET /apple/profile.mobileconfig", h.apple)
}

type handler struct {
	s           Settings
	log         *slog.Logger
	bodyTimeout time.Duration // RequestTimeout; tests shorten it
}

// fail answers a request naming an address that is not ours or not an
// address, or a body that is not a request: one place picks the status.
func (h *handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	status := http.StatusBadRequest
	if errors.Is(err, errNotServed) {
		status = http.StatusNotFound
	}
	h.log.Debug("autoconfig refused", "path", r.URL.Path, "status", status, "err", err)
	http.Error(w, err.Error(), status)
}

var errNotServed = errors.New("this server does not serve mail for that domain")

// address checks an address given by a client: an account address in one
// of the mail domains.
func (h *handler) address(raw string) (string, error) {
	a, err := maildir.CanonicalAddress(raw)
	if err != nil {
		return "", err
	}
	if !h.s.Serves(domainOf(a)) {
		return "", errNotServed
	}
	return a, nil
}

func (h *handler) thunderbird(w http.ResponseWriter, r *http.Request) {
	// Thunderbird adds ?emailaddress=; the document is the same for every
	// address of the domains, but a foreign one gets no answer.
	if e := r.URL.Query().Get("emailaddress"); e != "" {
		if _, err := h.address(e); err != nil {
			h.fail(w, r, err)
			return
		}
	}
	h.write(w, r, "application/xml; charset=utf-8", func() ([]byte, error) { return Thunderbird(h.s) })
}

func (h *handler) autodiscover(w http.ResponseWriter, r *http.Request) {
	raw := r.URL.Query().Get("email")
	if r.Method == http.MethodPost {
		// The deadline stays: after a body that did not come in time
		// the server does not wait for the rest and closes.
		http.NewResponseController(w).SetReadDeadline(time.Now().Add(h.bodyTimeout))
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxRequestBytes))
		if errors.Is(err, os.ErrDeadlineExceeded) {
			http.Error(w, "request body not complete in time", http.StatusRequestTimeout)
			return
		}
		if err != nil {
			http.Error(w, "request too large", http.StatusRequestEntityTooLarge)
			return
		}
		if raw, err = ParseAutodiscoverRequest(body); err != nil {
			h.fail(w, r, err)
			return
		}
	}
	email, err := h.address(raw)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.write(w, r, "application/xml; charset=utf-8", func() ([]byte, error) { return Autodiscover(h.s, email) })
}

func (h *handler) apple(w http.ResponseWriter, r *http.Request) {
	email, err := h.address(r.URL.Query().Get("email"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Disposition", `attachment; filename="mail.mobileconfig"`)
	h.write(w, r, "application/x-apple-aspen-config", func() ([]byte, error) { return AppleProfile(h.s, email) })
}

func (h *handler) write(w http.ResponseWriter, r *http.Request, contentType string, build func() ([]byte, error)) {
	body, err := build()
	if err != nil {
		h.log.Warn("autoconfig", "path", r.URL.Path, "err", err)
		http.Error(w, err.Error(), http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Cache-Control", "max-age=300")
	w.Write(body)
}
