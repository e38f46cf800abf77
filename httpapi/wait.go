package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/immp-mail/immp/maildir"
)

// Timeouts of GET /api/v1/messages/wait.
const (
	DefaultWaitTimeout = 30 * time.Second
	MaxWaitTimeout     = 10 * time.Minute
	// keepaliveEvery: an SSE comment line keeps proxies from closing an
	// idle stream; writeGrace bounds one write to a stalled client.
	keepaliveEvery = 15 * time.Second
	writeGrace     = 30 * time.Second
)

func waitTimeout(v string) (time.Duration, error) {
	if v == "" {
		return DefaultWaitTimeout, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		n, nerr := strconv.ParseFloat(v, 64)
		if nerr != nil {
			return 0, errorf(http.StatusBadRequest, "timeout: want a duration such as \"10s\" or a number of seconds")
		}
		d = time.Duration(n * float64(time.Second))
	}
	if d <= 0 || d > MaxWaitTimeout {
		return 0, errorf(http.StatusBadRequest, "timeout: want more than 0 and at most %s", MaxWaitTimeout)
	}
	return d, nil
}

// arrivalEntry turns an arrival into an entry that matches flt, or
// false. The message is looked up as the folder has it now.
func (a *API) arrivalEntry(ctx context.Context, flt filter, ar maildir.Arrival) (entry, bool, error) {
	if flt.Account != "" && ar.Account.Address != flt.Account || flt.Folder != "" && ar.Folder != flt.Folder {
		return entry{}, false, nil
	}
	f, err := a.opts.Store.OpenFolder(ctx, ar.Account, ar.Folder)
	if err != nil {
		return entry{}, false, ignoreGone(err)
	}
	m := f.Lookup([]uint32{ar.Message.UID})[0]
	if m.UID == 0 || f.UIDValidity() != ar.UIDValidity {
		return entry{}, false, nil
	}
	if !flt.Since.IsZero() && m.InternalDate.Before(flt.Since) ||
		!flt.Before.IsZero() && !m.InternalDate.Before(flt.Before) ||
		flt.Seen != nil && slices.Contains(m.Flags, `\Seen`) != *flt.Seen {
		return entry{}, false, nil
	}
	e := entry{b: &box{acct: ar.Account, f: f, name: ar.Folder, uv: ar.UIDValidity}, m: m}
	ok, err := a.matches(ctx, flt, e)
	if err != nil {
		return entry{}, false, ignoreGone(err)
	}
	return e, ok, nil
}

func ignoreGone(err error) error {
	if errors.Is(err, maildir.ErrNoSuchMessage) || errors.Is(err, maildir.ErrNonexistent) ||
		errors.Is(err, maildir.ErrNoSuchAccount) {
		return nil
	}
	return err
}

// wait: GET /api/v1/messages/wait answers the newest message that
// matches (the query of GET /api/v1/messages), at once if one is stored,
// else as soon as one is; 408 at the timeout. It subscribes to the
// store's arrivals before it looks, so nothing stored meanwhile is
// missed, and never polls.
func (a *API) wait(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	flt, err := parseFilter(q)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	timeout, err := waitTimeout(q.Get("timeout"))
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	if !a.beginStream() {
		a.writeError(w, r, errorf(http.StatusServiceUnavailable, "shutting down"))
		return
	}
	defer a.streams.Done()
	ctx := r.Context()
	sub := a.opts.Store.SubscribeArrivals()
	defer sub.Close()
	timer := time.NewTimer(timeout)
	defer timer.Stop()

	found := func(e entry) {
		m, err := a.summary(ctx, e.b.acct, e.b.f, e.ref(), e.m)
		if err != nil {
			a.writeError(w, r, notFoundIfGone(err))
			return
		}
		writeJSON(w, http.StatusOK, m)
	}
	rescan := true
	for {
		if rescan {
			rescan = false
			es, err := a.search(ctx, flt)
			if err != nil && !errors.Is(err, maildir.ErrNoSuchAccount) { // the account may come with the mail
				a.writeError(w, r, err)
				return
			}
			if len(es) > 0 {
				found(es[0])
				return
			}
			if a.afterScan != nil {
				a.afterScan()
				a.afterScan = nil
			}
		}
		select {
		case <-sub.Ready():
			ars, lost := sub.Take()
			rescan = lost > 0
			for _, ar := range ars {
				e, ok, err := a.arrivalEntry(ctx, flt, ar)
				if err != nil {
					a.writeError(w, r, err)
					return
				}
				if ok {
					found(e)
					return
				}
			}
		case <-timer.C:
			a.writeError(w, r, errorf(http.StatusRequestTimeout, "no matching message within %s", timeout))
			return
		case <-a.stop:
			a.writeError(w, r, errorf(http.StatusServiceUnavailable, "shutting down"))
			return
		case <-ctx.Done():
			return
		}
	}
}

// events: GET /api/v1/events, a Server-Sent Events stream (HTML Living
// Standard 9.2) of what happens to mail from the moment the stream
// opened: "event: message" with M as data for every message stored that
// matches the query (as GET /api/v1/messages takes it); "event: deleted"
// with {"id", "account", "folder", "uid"} for every message expunged, by
// any protocol, and "event: flags" with the same and "flags" for every
// flag change, in the account and folder the query names (its other
// criteria are not applied to them: a message may no longer be
// readable); "event: folder" when a folder is made, renamed or deleted
// (folderEvent); "event: lost" with {"lost": n} when the client read too
// slowly and n were dropped. The first line, a comment, is written once
// the subscription is in place.
func (a *API) events(w http.ResponseWriter, r *http.Request) {
	flt, err := parseFilter(r.URL.Query())
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	if !a.beginStream() {
		a.writeError(w, r, errorf(http.StatusServiceUnavailable, "shutting down"))
		return
	}
	defer a.streams.Done()
	ctx := r.Context()
	sub := a.opts.Store.SubscribeChanges()
	defer sub.Close()
	rc := http.NewResponseController(w)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	send := func(s string) bool {
		rc.SetWriteDeadline(time.Now().Add(writeGrace))
		if _, err := w.Write([]byte(s)); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	if !send(": immp events\nretry: 1000\n\n") {
		return
	}
	tick := time.NewTicker(keepaliveEvery)
	defer tick.Stop()
	for {
		select {
		case <-sub.Ready():
			ars, lost := sub.Take()
			if lost > 0 && !send("event: lost\ndata: {\"lost\": "+strconv.Itoa(lost)+"}\n\n") {
				return
			}
			for _, ar := range ars {
				if ar.Kind != maildir.EventNew {
					if ev, ok := changeEvent(flt, ar); ok && !send(ev) {
						return
					}
					continue
				}
				e, ok, err := a.arrivalEntry(ctx, flt, ar)
				if err != nil || !ok {
					continue
				}
				m, err := a.summary(ctx, e.b.acct, e.b.f, e.ref(), e.m)
				if err != nil {
					continue
				}
				data, _ := json.Marshal(m)
				if !send("id: " + m.ID + "\nevent: message\ndata: " + string(data) + "\n\n") {
					return
				}
			}
		case <-tick.C:
			if !send(": keepalive\n\n") {
				return
			}
		case <-a.stop:
			return
		case <-ctx.Done():
			return
		}
	}
}

// changeEvent is the SSE event of an expunge, a flag change or a change
// of the folder tree, if the filter's account and folder take it.
func changeEvent(flt filter, ar maildir.Arrival) (string, bool) {
	switch ar.Kind {
	case maildir.EventFolderCreated, maildir.EventFolderRenamed, maildir.EventFolderDeleted:
		return folderEvent(flt, ar)
	}
	if flt.Account != "" && ar.Account.Address != flt.Account || flt.Folder != "" && ar.Folder != flt.Folder {
		return "", false
	}
	ref := msgRef{Account: ar.Account.ID, Folder: ar.Folder, UIDValidity: ar.UIDValidity, UID: ar.Message.UID}
	c := struct {
		ID      string   `json:"id"`
		Account string   `json:"account"`
		Folder  string   `json:"folder"`
		UID     uint32   `json:"uid"`
		Flags   []string `json:"flags,omitempty"`
	}{ID: ref.String(), Account: ar.Account.Address, Folder: ar.Folder, UID: ar.Message.UID}
	name := "deleted"
	if ar.Kind == maildir.EventFlags {
		name, c.Flags = "flags", ar.Message.Flags
		if c.Flags == nil {
			c.Flags = []string{}
		}
	}
	data, _ := json.Marshal(c)
	return "id: " + c.ID + "\nevent: " + name + "\ndata: " + string(data) + "\n\n", true
}

// folderEvent is "event: folder" with {"account", "folder", "change"}
// ("created", "renamed" with "new_name", or "deleted") for a change of an
// account's folder tree by any protocol; a folder filter takes the
// folder under either name.
func folderEvent(flt filter, ar maildir.Arrival) (string, bool) {
	if flt.Account != "" && ar.Account.Address != flt.Account ||
		flt.Folder != "" && ar.Folder != flt.Folder && ar.NewName != flt.Folder {
		return "", false
	}
	c := struct {
		Account string `json:"account"`
		Folder  string `json:"folder"`
		Change  string `json:"change"`
		NewName string `json:"new_name,omitempty"`
	}{Account: ar.Account.Address, Folder: ar.Folder, NewName: ar.NewName}
	switch ar.Kind {
	case maildir.EventFolderCreated:
		c.Change = "created"
	case maildir.EventFolderRenamed:
		c.Change = "renamed"
	default:
		c.Change = "deleted"
	}
	data, _ := json.Marshal(c)
	return "event: folder\ndata: " + string(data) + "\n\n", true
}
