package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/immp-mail/immp/internal/chaos"
	"github.com/immp-mail/immp/maildir"
)

// Error is an API failure with its HTTP status; every handler error goes
// through writeError, the one place where errors become statuses.
type Error struct {
	Status int
	Msg    string
}

func (e *Error) Error() string { return e.Msg }

func errorf(status int, format string, args ...any) *Error {
	return &Error{Status: status, Msg: fmt.Sprintf(format, args...)}
}

// errNotFound is the answer for an id that names no message now.
var errNotFound = &Error{Status: http.StatusNotFound, Msg: "no such message"}

// errorBody is the JSON of every error answer.
type errorBody struct {
	Error  string `json:"error"`
	Status int    `json:"status"`
}

// statusOf translates an error to its HTTP status and the text shown
// (RFC 9110 15): the mailbox layer's errors by meaning, anything unknown
// as 500 with a generic text (the detail goes to the log).
func statusOf(err error) (int, string) {
	var e *Error
	switch {
	case errors.As(err, &e):
		return e.Status, e.Msg
	case errors.Is(err, maildir.ErrNoSuchAccount), errors.Is(err, maildir.ErrNonexistent),
		errors.Is(err, maildir.ErrNoSuchMessage):
		return http.StatusNotFound, err.Error()
	case errors.Is(err, maildir.ErrInvalidAddress), errors.Is(err, maildir.ErrInvalidName),
		errors.Is(err, maildir.ErrPlusInAddress), errors.Is(err, chaos.ErrInvalid):
		return http.StatusBadRequest, err.Error()
	case errors.Is(err, maildir.ErrAccountExists):
		return http.StatusConflict, err.Error()
	case errors.Is(err, chaos.ErrTooMany):
		return http.StatusTooManyRequests, err.Error()
	case errors.Is(err, maildir.ErrBusy), errors.Is(err, maildir.ErrAuthBusy):
		return http.StatusServiceUnavailable, err.Error()
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return http.StatusServiceUnavailable, "request cancelled"
	}
	return http.StatusInternalServerError, "internal error"
}

func (a *API) writeError(w http.ResponseWriter, r *http.Request, err error) {
	status, msg := statusOf(err)
	if status >= 500 {
		a.log.Warn("api request failed", "method", r.Method, "path", r.URL.Path, "status", status, "err", err)
	}
	if status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "1")
	}
	writeJSON(w, status, errorBody{Error: msg, Status: status})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.Encode(v)
}
