package httpapi

import (
	"cmp"
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"

	"github.com/immp-mail/immp/maildir"
)

// box is one folder looked at, with its messages as they are now.
type box struct {
	acct maildir.Account
	f    *maildir.Folder
	name string
	uv   uint32
	msgs []maildir.Message
}

// entry is one message of a box.
type entry struct {
	b *box
	m maildir.Message
}

func (e entry) ref() msgRef {
	return msgRef{Account: e.b.acct.ID, Folder: e.b.name, UIDValidity: e.b.uv, UID: e.m.UID}
}

// boxes opens every folder the filter names (all folders of all
// accounts by default). Each folder's messages are read after settling
// it, so whatever was acknowledged before the call is there
// (read-your-writes, maildir doc).
func (a *API) boxes(ctx context.Context, flt filter) ([]*box, error) {
	st := a.opts.Store
	var accts []maildir.Account
	if flt.Account != "" {
		acct, err := st.Account(ctx, flt.Account)
		if err != nil {
			return nil, err
		}
		accts = []maildir.Account{acct}
	} else {
		var err error
		if accts, err = st.Accounts(ctx); err != nil {
			return nil, err
		}
	}
	var out []*box
	for _, acct := range accts {
		var names []string
		if flt.Folder != "" {
			names = []string{flt.Folder}
		} else {
			fis, err := st.Folders(ctx, acct)
			if errors.Is(err, maildir.ErrNoSuchAccount) {
				continue // deleted meanwhile
			} else if err != nil {
				return nil, err
			}
			for _, fi := range fis {
				names = append(names, fi.Name)
			}
		}
		for _, n := range names {
			f, err := st.OpenFolder(ctx, acct, n)
			if errors.Is(err, maildir.ErrNonexistent) || errors.Is(err, maildir.ErrNoSuchAccount) {
				if flt.Folder != "" && flt.Account != "" {
					return nil, err
				}
				continue
			} else if err != nil {
				return nil, err
			}
			msgs, err := f.Messages(ctx)
			if err != nil {
				if errors.Is(err, maildir.ErrNonexistent) {
					continue
				}
				return nil, err
			}
			out = append(out, &box{acct: acct, f: f, name: f.Name(), uv: f.UIDValidity(), msgs: msgs})
		}
	}
	return out, nil
}

// newestFirst orders entries by received time, newest first; ties by
// UID, highest first, then account and folder.
func newestFirst(x, y entry) int {
	if c := y.m.InternalDate.Compare(x.m.InternalDate); c != 0 {
		return c
	}
	if c := cmp.Compare(y.m.UID, x.m.UID); c != 0 {
		return c
	}
	if c := strings.Compare(x.b.acct.Address, y.b.acct.Address); c != 0 {
		return c
	}
	return strings.Compare(x.b.name, y.b.name)
}

// search returns the entries that match flt, newest first.
func (a *API) search(ctx context.Context, flt filter) ([]entry, error) {
	bs, err := a.boxes(ctx, flt)
	if err != nil {
		return nil, err
	}
	var es []entry
	for _, b := range bs {
		for _, m := range b.msgs {
			if !flt.Since.IsZero() && m.InternalDate.Before(flt.Since) ||
				!flt.Before.IsZero() && !m.InternalDate.Before(flt.Before) ||
				flt.Seen != nil && slices.Contains(m.Flags, `\Seen`) != *flt.Seen {
				continue
			}
			es = append(es, entry{b, m})
		}
	}
	slices.SortFunc(es, newestFirst)
	if flt.From == "" && flt.To == "" && flt.Subject == "" && !flt.needsBody() {
		return es, nil
	}
	out := es[:0]
	for _, e := range es {
		ok, err := a.matches(ctx, flt, e)
		if errors.Is(err, maildir.ErrNoSuchMessage) || errors.Is(err, maildir.ErrNonexistent) {
			continue // expunged meanwhile
		} else if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, e)
		}
	}
	return out, nil
}

// matches checks the envelope and body criteria of flt.
func (a *API) matches(ctx context.Context, flt filter, e entry) (bool, error) {
	env, err := a.envelopeOf(ctx, e.b.f, e.ref())
	if err != nil {
		return false, err
	}
	if !envMatches(flt, e.b.acct.Address, env) {
		return false, nil
	}
	if !flt.needsBody() {
		return true, nil
	}
	msg, err := readAll(ctx, e.b.f, e.m.UID)
	if err != nil {
		return false, err
	}
	text := textOf(msg)
	if flt.Text != "" && !strings.Contains(text, flt.Text) {
		return false, nil
	}
	for _, w := range flt.Any {
		if !strings.Contains(text, w) && !strings.Contains(envText(e.b.acct.Address, env), w) {
			return false, nil
		}
	}
	return true, nil
}

// envMatches is pure: from, to and subject of flt against an envelope
// (to also matches the account the copy was filed in, which is where a
// Bcc recipient is seen).
func envMatches(flt filter, account string, env *envelope) bool {
	if flt.From != "" && !strings.Contains(strings.ToLower(env.From+" "+env.FromName), flt.From) {
		return false
	}
	if flt.To != "" {
		hit := strings.Contains(strings.ToLower(account), flt.To)
		for _, l := range [][]string{env.To, env.Cc} {
			for _, t := range l {
				hit = hit || strings.Contains(strings.ToLower(t), flt.To)
			}
		}
		if !hit {
			return false
		}
	}
	return flt.Subject == "" || strings.Contains(strings.ToLower(env.Subject), flt.Subject)
}

func envText(account string, env *envelope) string {
	return strings.ToLower(account + " " + env.From + " " + env.FromName + " " + strings.Join(env.To, " ") + " " +
		strings.Join(env.Cc, " ") + " " + env.Subject)
}

// listBody is the answer of GET /api/v1/messages.
type listBody struct {
	Total    int       `json:"total"`
	Start    int       `json:"start"`
	Messages []Message `json:"messages"`
}

// listMessages: GET /api/v1/messages.
func (a *API) listMessages(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	flt, err := parseFilter(q)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	limit, start, err := page(q)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	es, err := a.search(r.Context(), flt)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	out := listBody{Total: len(es), Start: start, Messages: []Message{}}
	for i := start; i < len(es) && i < start+limit; i++ {
		m, err := a.summary(r.Context(), es[i].b.acct, es[i].b.f, es[i].ref(), es[i].m)
		if errors.Is(err, maildir.ErrNoSuchMessage) {
			continue
		} else if err != nil {
			a.writeError(w, r, err)
			return
		}
		out.Messages = append(out.Messages, m)
	}
	writeJSON(w, http.StatusOK, out)
}

// deleteMessages: DELETE /api/v1/messages[?account=]: every message of
// every folder (of that account).
func (a *API) deleteMessages(w http.ResponseWriter, r *http.Request) {
	flt := filter{Account: strings.ToLower(r.URL.Query().Get("account"))}
	bs, err := a.boxes(r.Context(), flt)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	n := 0
	for _, b := range bs {
		uids := make([]uint32, len(b.msgs))
		for i, m := range b.msgs {
			uids[i] = m.UID
		}
		gone, err := expunge(r.Context(), b.f, uids)
		if err != nil {
			a.writeError(w, r, err)
			return
		}
		n += gone
	}
	writeJSON(w, http.StatusOK, map[string]int{"deleted": n})
}

// expunge removes messages: \Deleted, then UID EXPUNGE of just those
// (RFC 9051 6.4.9), as an IMAP client would.
func expunge(ctx context.Context, f *maildir.Folder, uids []uint32) (int, error) {
	if len(uids) == 0 {
		return 0, nil
	}
	if _, err := f.StoreFlags(ctx, uids, maildir.FlagsAdd, []string{`\Deleted`}); err != nil {
		return 0, err
	}
	gone, err := f.Expunge(ctx, uids)
	return len(gone), err
}
