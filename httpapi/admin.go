package httpapi

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/immp-mail/immp/internal/chaos"
	"github.com/immp-mail/immp/maildir"
)

// AccountInfo is one account as listed.
type AccountInfo struct {
	ID      int64        `json:"id"`
	Address string       `json:"address"`
	Created time.Time    `json:"created"`
	Folders []FolderInfo `json:"folders"`
}

// FolderInfo is one folder as listed, with its counters.
type FolderInfo struct {
	Name       string `json:"name"`
	SpecialUse string `json:"special_use,omitempty"`
	Messages   uint32 `json:"messages"`
	Unseen     uint32 `json:"unseen"`
	Size       int64  `json:"size"`
}

func (a *API) foldersOf(r *http.Request, acct maildir.Account) ([]FolderInfo, error) {
	fis, err := a.opts.Store.Folders(r.Context(), acct)
	if err != nil {
		return nil, err
	}
	out := []FolderInfo{}
	for _, fi := range fis {
		f, err := a.opts.Store.OpenFolder(r.Context(), acct, fi.Name)
		if err != nil {
			continue // deleted meanwhile
		}
		st, err := f.Status(r.Context())
		if err != nil {
			continue
		}
		out = append(out, FolderInfo{Name: fi.Name, SpecialUse: fi.SpecialUse, Messages: st.Messages, Unseen: st.Unseen, Size: st.Size})
	}
	return out, nil
}

// listAccounts: GET /api/v1/accounts, every account with its folders.
func (a *API) listAccounts(w http.ResponseWriter, r *http.Request) {
	accts, err := a.opts.Store.Accounts(r.Context())
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	out := []AccountInfo{}
	for _, acct := range accts {
		fs, err := a.foldersOf(r, acct)
		if err != nil {
			continue // deleted meanwhile
		}
		out = append(out, AccountInfo{ID: acct.ID, Address: acct.Address, Created: acct.Created, Folders: fs})
	}
	writeJSON(w, http.StatusOK, map[string]any{"accounts": out})
}

// listFolders: GET /api/v1/accounts/{address}/folders.
func (a *API) listFolders(w http.ResponseWriter, r *http.Request) {
	acct, err := a.opts.Store.Account(r.Context(), strings.ToLower(r.PathValue("address")))
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	fs, err := a.foldersOf(r, acct)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"folders": fs})
}

type newAccount struct {
	Address  string `json:"address"`
	Password string `json:"password"`
}

// createAccount: POST /api/v1/accounts {"address", "password"}.
func (a *API) createAccount(w http.ResponseWriter, r *http.Request) {
	var body newAccount
	if err := a.decodeJSON(w, r, &body); err != nil {
		a.writeError(w, r, err)
		return
	}
	if body.Address == "" || body.Password == "" {
		a.writeError(w, r, errorf(http.StatusBadRequest, `request body: want {"address": "...", "password": "..."}`))
		return
	}
	acct, err := a.opts.Store.AddAccount(r.Context(), body.Address, body.Password)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	a.accountsChanged()
	a.log.Info("account created through the API", "account", acct.Address)
	fs, _ := a.foldersOf(r, acct)
	writeJSON(w, http.StatusCreated, AccountInfo{ID: acct.ID, Address: acct.Address, Created: acct.Created, Folders: fs})
}

// deleteAccount: DELETE /api/v1/accounts/{address}, with its mail.
func (a *API) deleteAccount(w http.ResponseWriter, r *http.Request) {
	if err := a.opts.Store.DeleteAccount(r.Context(), strings.ToLower(r.PathValue("address"))); err != nil {
		a.writeError(w, r, err)
		return
	}
	a.accountsChanged()
	w.WriteHeader(http.StatusNoContent)
}

func (a *API) accountsChanged() {
	if a.opts.AccountsChanged != nil {
		a.opts.AccountsChanged()
	}
}

func (a *API) chaosEngine(w http.ResponseWriter, r *http.Request) *chaos.Engine {
	if a.opts.Chaos == nil {
		a.writeError(w, r, errorf(http.StatusNotFound, "no SMTP listener: chaos rules have nothing to act on"))
	}
	return a.opts.Chaos
}

// listChaos: GET /api/v1/chaos.
func (a *API) listChaos(w http.ResponseWriter, r *http.Request) {
	if e := a.chaosEngine(w, r); e != nil {
		writeJSON(w, http.StatusOK, map[string]any{"rules": e.Rules()})
	}
}

// addChaos: POST /api/v1/chaos with a rule (package chaos).
func (a *API) addChaos(w http.ResponseWriter, r *http.Request) {
	e := a.chaosEngine(w, r)
	if e == nil {
		return
	}
	var rule chaos.Rule
	if err := a.decodeJSON(w, r, &rule); err != nil {
		a.writeError(w, r, err)
		return
	}
	st, err := e.Add(rule)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	a.log.Info("chaos rule added", "id", st.ID, "stage", st.Stage, "code", st.Code, "match", st.Match)
	writeJSON(w, http.StatusCreated, st)
}

// resetChaos: DELETE /api/v1/chaos.
func (a *API) resetChaos(w http.ResponseWriter, r *http.Request) {
	if e := a.chaosEngine(w, r); e != nil {
		e.Reset()
		w.WriteHeader(http.StatusNoContent)
	}
}

// removeChaos: DELETE /api/v1/chaos/{id}.
func (a *API) removeChaos(w http.ResponseWriter, r *http.Request) {
	e := a.chaosEngine(w, r)
	if e == nil {
		return
	}
	id, err := strconv.Atoi(r.PathValue("id"))
	if err != nil || !e.Remove(id) {
		a.writeError(w, r, errorf(http.StatusNotFound, "no such chaos rule"))
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
