package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/immp-mail/immp/maildir"
)

// resolve finds the message an id names, as the folder's state has it
// now: 404 for an id that is malformed, of a deleted account or folder,
// of another UIDVALIDITY, or of an expunged message.
func (a *API) resolve(ctx context.Context, id string) (entry, error) {
	ref, ok := parseRef(id)
	if !ok {
		return entry{}, errorf(http.StatusNotFound, "no such message: malformed id")
	}
	accts, err := a.opts.Store.Accounts(ctx)
	if err != nil {
		return entry{}, err
	}
	var acct *maildir.Account
	for i := range accts {
		if accts[i].ID == ref.Account {
			acct = &accts[i]
		}
	}
	if acct == nil {
		return entry{}, errNotFound
	}
	f, err := a.opts.Store.OpenFolder(ctx, *acct, ref.Folder)
	if errors.Is(err, maildir.ErrNonexistent) || errors.Is(err, maildir.ErrInvalidName) {
		return entry{}, errNotFound
	} else if err != nil {
		return entry{}, err
	}
	if f.UIDValidity() != ref.UIDValidity {
		return entry{}, errNotFound
	}
	m := f.Lookup([]uint32{ref.UID})[0]
	if m.UID == 0 {
		return entry{}, errNotFound
	}
	return entry{b: &box{acct: *acct, f: f, name: ref.Folder, uv: ref.UIDValidity}, m: m}, nil
}

// getMessage: GET /api/v1/messages/{id}.
func (a *API) getMessage(w http.ResponseWriter, r *http.Request) {
	e, err := a.resolve(r.Context(), r.PathValue("id"))
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	d, err := a.detail(r.Context(), e)
	if err != nil {
		a.writeError(w, r, notFoundIfGone(err))
		return
	}
	writeJSON(w, http.StatusOK, d)
}

func (a *API) detail(ctx context.Context, e entry) (Detail, error) {
	sum, err := a.summary(ctx, e.b.acct, e.b.f, e.ref(), e.m)
	if err != nil {
		return Detail{}, err
	}
	msg, err := readAll(ctx, e.b.f, e.m.UID)
	if err != nil {
		return Detail{}, err
	}
	c := parseContent(msg)
	d := Detail{Message: sum, Headers: c.headers, Text: c.text, HTML: c.html, Attachments: []Attachment{}}
	for i, p := range c.attachments {
		d.Attachments = append(d.Attachments, attachmentInfo(msg, p, i, sum.ID))
	}
	return d, nil
}

func notFoundIfGone(err error) error {
	if errors.Is(err, maildir.ErrNoSuchMessage) || errors.Is(err, maildir.ErrNonexistent) {
		return errNotFound
	}
	return err
}

// rawMessage: GET /api/v1/messages/{id}/raw, the source as stored (CRLF
// line ends), as text so that a browser shows it and runs nothing.
func (a *API) rawMessage(w http.ResponseWriter, r *http.Request) {
	e, err := a.resolve(r.Context(), r.PathValue("id"))
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	rc, err := e.b.f.OpenMessage(r.Context(), e.m.UID)
	if err != nil {
		a.writeError(w, r, notFoundIfGone(err))
		return
	}
	defer rc.Close()
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Length", strconv.FormatInt(e.m.Size, 10))
	if r.URL.Query().Get("download") != "" {
		h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": "message.eml"}))
	}
	io.Copy(w, rc)
}

// attachment: GET /api/v1/messages/{id}/attachments/{n}, decoded, always
// as a download and sandboxed (it must never run on the API's origin).
func (a *API) attachment(w http.ResponseWriter, r *http.Request) {
	n, err := strconv.Atoi(r.PathValue("n"))
	if err != nil || n < 0 {
		a.writeError(w, r, errorf(http.StatusNotFound, "no such attachment"))
		return
	}
	e, err := a.resolve(r.Context(), r.PathValue("id"))
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	msg, err := readAll(r.Context(), e.b.f, e.m.UID)
	if err != nil {
		a.writeError(w, r, notFoundIfGone(err))
		return
	}
	c := parseContent(msg)
	if n >= len(c.attachments) {
		a.writeError(w, r, errorf(http.StatusNotFound, "no such attachment"))
		return
	}
	p := c.attachments[n]
	info := attachmentInfo(msg, p, n, "")
	body := decoded(msg, p)
	h := w.Header()
	ct := mime.FormatMediaType(info.ContentType, nil)
	if ct == "" {
		ct = "application/octet-stream"
	} else if cs := p.Param("charset"); cs != "" && p.Type == "text" {
		if withCS := mime.FormatMediaType(ct, map[string]string{"charset": cs}); withCS != "" {
			ct = withCS
		}
	}
	h.Set("Content-Type", ct)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "sandbox")
	name := info.Filename
	if name == "" {
		name = "attachment-" + strconv.Itoa(n)
	}
	h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": name}))
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.Write(body)
}

// patchBody is PATCH /api/v1/messages/{id}: {"seen": true|false}.
type patchBody struct {
	Seen *bool `json:"seen"`
}

// maxJSONBody bounds a request body in size; API.bodyTimeout (default
// defaultBodyTimeout) in time, so a client that sends its body an octet
// now and then does not hold a connection and a handler forever (the
// HTTP server has no ReadTimeout: it would end the wait and event
// streams too).
const (
	maxJSONBody        = 64 << 10
	defaultBodyTimeout = 10 * time.Second
)

func (a *API) decodeJSON(w http.ResponseWriter, r *http.Request, v any) error {
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
		// A page on another site can send a form or text/plain, never
		// JSON without asking first (CORS preflight, which fails here).
		return errorf(http.StatusUnsupportedMediaType, "request body: send Content-Type: application/json")
	}
	rc := http.NewResponseController(w)
	limited := rc.SetReadDeadline(time.Now().Add(a.bodyTimeout)) == nil
	dec := json.NewDecoder(io.LimitReader(r.Body, maxJSONBody))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if errors.Is(err, os.ErrDeadlineExceeded) {
		// The deadline stays: the server does not wait for the rest of
		// the body after the answer, and closes the connection.
		w.Header().Set("Connection", "close")
		return errorf(http.StatusRequestTimeout, "request body: not complete within %s", a.bodyTimeout)
	}
	if limited {
		rc.SetReadDeadline(time.Time{})
	}
	if err != nil {
		return errorf(http.StatusBadRequest, "request body: %v", err)
	}
	return nil
}

// patchMessage: PATCH /api/v1/messages/{id} marks seen or unseen and
// answers M.
func (a *API) patchMessage(w http.ResponseWriter, r *http.Request) {
	var body patchBody
	if err := a.decodeJSON(w, r, &body); err != nil {
		a.writeError(w, r, err)
		return
	}
	if body.Seen == nil {
		a.writeError(w, r, errorf(http.StatusBadRequest, `request body: want {"seen": true} or {"seen": false}`))
		return
	}
	e, err := a.resolve(r.Context(), r.PathValue("id"))
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	op := maildir.FlagsAdd
	if !*body.Seen {
		op = maildir.FlagsRemove
	}
	ms, err := e.b.f.StoreFlags(r.Context(), []uint32{e.m.UID}, op, []string{`\Seen`})
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	if len(ms) == 1 {
		e.m = ms[0]
	} else if m := e.b.f.Lookup([]uint32{e.m.UID})[0]; m.UID != 0 {
		e.m = m
	} else {
		a.writeError(w, r, errNotFound)
		return
	}
	sum, err := a.summary(r.Context(), e.b.acct, e.b.f, e.ref(), e.m)
	if err != nil {
		a.writeError(w, r, notFoundIfGone(err))
		return
	}
	writeJSON(w, http.StatusOK, sum)
}

// deleteMessage: DELETE /api/v1/messages/{id}.
func (a *API) deleteMessage(w http.ResponseWriter, r *http.Request) {
	e, err := a.resolve(r.Context(), r.PathValue("id"))
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	n, err := expunge(r.Context(), e.b.f, []uint32{e.m.UID})
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	if n == 0 {
		a.writeError(w, r, errNotFound)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
