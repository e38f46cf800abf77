package admin

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/immp-mail/immp/config"
	"github.com/immp-mail/immp/maildir"
)

// pageData is what the templates show.
type pageData struct {
	Hostname     string
	CSRF         string
	Message      string
	Error        string
	Accounts     []accountRow
	TotalUsed    string
	DefaultQuota string
	Domains      []string
	QueueShown   bool
	QueueSize    int
}

type accountRow struct {
	Address, Used, Quota string
}

// errInput is a form the rules refuse (as the CLI would, exit 2).
type errInput struct{ msg string }

func (e *errInput) Error() string { return e.msg }

func inputErr(format string, args ...any) error { return &errInput{fmt.Sprintf(format, args...)} }

// status is the one place an error becomes an HTTP status.
func status(err error) int {
	var ie *errInput
	switch {
	case errors.As(err, &ie), errors.Is(err, maildir.ErrInvalidAddress):
		return http.StatusBadRequest
	case errors.Is(err, maildir.ErrAccountExists):
		return http.StatusConflict
	case errors.Is(err, maildir.ErrNoSuchAccount):
		return http.StatusNotFound
	case maildir.Temporary(err):
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// message says what went wrong in the words of "immp user".
func message(err error, addr string) string {
	switch {
	case errors.Is(err, maildir.ErrAccountExists):
		return addr + " already exists."
	case errors.Is(err, maildir.ErrNoSuchAccount):
		return "No account " + addr + "."
	case maildir.Temporary(err):
		return err.Error() + " (the database is locked by another process, or the disk is full or read-only; try again later)"
	}
	return err.Error()
}

func (h *Handler) view(w http.ResponseWriter, r *http.Request) {
	s := h.session(r)
	if s == nil {
		h.render(w, "login", pageData{Hostname: h.opts.Hostname})
		return
	}
	h.mu.Lock()
	flash := s.flash
	s.flash = ""
	h.mu.Unlock()
	h.page(w, r, s, http.StatusOK, flash, "")
}

// page renders the account list with a message or an error.
func (h *Handler) page(w http.ResponseWriter, r *http.Request, s *session, code int, msg, errMsg string) {
	d := pageData{Hostname: h.opts.Hostname, CSRF: s.csrf, Message: msg, Error: errMsg, Domains: h.opts.Domains,
		DefaultQuota: quotaString(h.opts.DefaultQuota)}
	accts, err := h.opts.Store.Accounts(r.Context())
	if err != nil {
		code, d.Error = status(err), "Listing accounts: "+message(err, "")
	}
	var total int64
	for _, a := range accts {
		u, err := h.opts.Store.Usage(r.Context(), a)
		if err != nil {
			code, d.Error = status(err), "Storage use of "+a.Address+": "+message(err, a.Address)
			continue
		}
		total += u.Used
		q := quotaString(u.Limit)
		if u.Own {
			q += " (own)"
		}
		d.Accounts = append(d.Accounts, accountRow{Address: a.Address, Used: config.Size(u.Used).Human(), Quota: q})
	}
	d.TotalUsed = config.Size(total).Human()
	if h.opts.Queue != nil {
		n, err := h.opts.Queue(r.Context())
		if err != nil {
			d.Error = "Outbound queue: " + err.Error()
		}
		d.QueueShown, d.QueueSize = err == nil, n
	}
	w.WriteHeader(code)
	h.render(w, "page", d)
}

func (h *Handler) render(w http.ResponseWriter, name string, d pageData) {
	if w.Header().Get("Content-Type") == "" {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
	}
	if err := h.tmpl.ExecuteTemplate(w, name, d); err != nil {
		h.log.Warn("admin: rendering", "template", name, "err", err)
	}
}

// done ends a successful change: the message waits in the session and the
// browser is sent back to the list (post/redirect/get).
func (h *Handler) done(w http.ResponseWriter, r *http.Request, s *session, msg string) {
	h.mu.Lock()
	s.flash = msg
	h.mu.Unlock()
	h.log.Info("admin: "+msg, "remote", r.RemoteAddr)
	http.Redirect(w, r, "/admin/", http.StatusSeeOther)
}

func (h *Handler) failed(w http.ResponseWriter, r *http.Request, s *session, err error, addr string) {
	h.page(w, r, s, status(err), "", message(err, addr))
}

func (h *Handler) addAccount(w http.ResponseWriter, r *http.Request, s *session) {
	raw, password := strings.TrimSpace(r.PostForm.Get("address")), r.PostForm.Get("password")
	addr, err := h.newAddress(raw)
	if err == nil && password == "" {
		err = inputErr("empty password")
	}
	var limit *int64
	if q := strings.TrimSpace(r.PostForm.Get("quota")); err == nil && q != "" {
		var l int64
		if l, err = ParseQuota(q); err == nil {
			limit = &l
		}
	}
	if err != nil {
		h.failed(w, r, s, err, raw)
		return
	}
	if _, err := h.opts.Store.AddAccount(r.Context(), addr, password); err != nil {
		h.failed(w, r, s, err, addr)
		return
	}
	if limit != nil {
		if err := h.opts.Store.SetQuota(r.Context(), addr, *limit); err != nil {
			h.failed(w, r, s, err, addr)
			return
		}
	}
	h.done(w, r, s, "Account "+addr+" added.")
}

// newAddress applies the rules of "immp user add": an account address
// without '+', in one of the configured domains.
func (h *Handler) newAddress(raw string) (string, error) {
	addr, err := maildir.NewAccountAddress(raw)
	if err != nil {
		return "", err
	}
	domain := addr[strings.LastIndexByte(addr, '@')+1:]
	for _, d := range h.opts.Domains {
		if strings.EqualFold(strings.TrimSuffix(d, "."), domain) {
			return addr, nil
		}
	}
	return "", inputErr("%s is not one of the configured domains %v", domain, h.opts.Domains)
}

func (h *Handler) deleteAccount(w http.ResponseWriter, r *http.Request, s *session) {
	addr, err := maildir.CanonicalAddress(r.PostForm.Get("address"))
	if err != nil {
		h.failed(w, r, s, err, r.PostForm.Get("address"))
		return
	}
	confirm, _ := maildir.CanonicalAddress(r.PostForm.Get("confirm"))
	if confirm != addr {
		h.failed(w, r, s, inputErr("To delete %s and all its mail, type its address in the box next to the button.", addr), addr)
		return
	}
	if err := h.opts.Store.DeleteAccount(r.Context(), addr); err != nil {
		h.failed(w, r, s, err, addr)
		return
	}
	h.done(w, r, s, "Account "+addr+" deleted with its mail.")
}

func (h *Handler) setPassword(w http.ResponseWriter, r *http.Request, s *session) {
	addr, err := maildir.CanonicalAddress(r.PostForm.Get("address"))
	if err == nil && r.PostForm.Get("password") == "" {
		err = inputErr("empty password")
	}
	if err == nil {
		err = h.opts.Store.SetPassword(r.Context(), addr, r.PostForm.Get("password"))
	}
	if err != nil {
		h.failed(w, r, s, err, addr)
		return
	}
	h.done(w, r, s, "Password of "+addr+" changed.")
}

// ParseQuota is config.ParseQuota with its error as a bad request.
func ParseQuota(s string) (int64, error) {
	n, err := config.ParseQuota(s)
	if err != nil {
		return 0, inputErr("quota: %v", err)
	}
	return n, nil
}

func quotaString(n int64) string {
	if n <= 0 {
		return "unlimited"
	}
	return config.Size(n).String()
}
