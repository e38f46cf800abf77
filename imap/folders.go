package imap

import (
	"slices"
	"strings"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"

	"immp/maildir"
)

// Create makes a folder through the mailbox layer, with the same rules as
// IMMP CREATE for INBOX/... names (profile 6). A trailing "/" only says the
// client wants to create children later (RFC 9051 6.3.4).
func (s *session) Create(name string, options *imap.CreateOptions) (err error) {
	defer s.track("CREATE")(&err)
	return s.srv.opts.Store.CreateFolder(s.ctx, s.acct, strings.TrimSuffix(name, "/"))
}

// Delete removes a folder (profile 6: NO [INUSE] while it has children).
func (s *session) Delete(name string) (err error) {
	defer s.track("DELETE")(&err)
	return s.srv.opts.Store.DeleteFolder(s.ctx, s.acct, name)
}

// Rename renames a folder with its children; RENAME INBOX moves INBOX's
// messages into the new folder (RFC 9051 6.3.6, draft 6.3.3).
func (s *session) Rename(oldName, newName string, options *imap.RenameOptions) (err error) {
	defer s.track("RENAME")(&err)
	return s.srv.opts.Store.RenameFolder(s.ctx, s.acct, oldName, strings.TrimSuffix(newName, "/"))
}

// Subscribe and Unsubscribe keep Dovecot's subscriptions file through the
// mailbox layer.
func (s *session) Subscribe(name string) (err error) {
	defer s.track("SUBSCRIBE")(&err)
	return s.srv.opts.Store.SetSubscribed(s.ctx, s.acct, name, true)
}

func (s *session) Unsubscribe(name string) (err error) {
	defer s.track("UNSUBSCRIBE")(&err)
	return s.srv.opts.Store.SetSubscribed(s.ctx, s.acct, name, false)
}

// listEntry is one name LIST may show: an existing folder, or a parent
// that exists only as a level of the hierarchy (\Noselect).
type listEntry struct {
	info     maildir.FolderInfo
	exists   bool
	children bool
}

// List answers LIST, LIST-EXTENDED (RFC 5258), LIST-STATUS (RFC 5819) and
// LSUB (imapserver maps LSUB to SELECT SUBSCRIBED).
func (s *session) List(w *imapserver.ListWriter, ref string, patterns []string, options *imap.ListOptions) (err error) {
	defer s.track("LIST")(&err)
	if len(patterns) == 0 {
		// LIST "" "": the hierarchy delimiter (RFC 9051 6.3.9).
		return w.WriteList(&imap.ListData{Attrs: []imap.MailboxAttr{imap.MailboxAttrNoSelect}, Delim: '/', Mailbox: ""})
	}
	folders, err := s.srv.opts.Store.Folders(s.ctx, s.acct)
	if err != nil {
		return err
	}
	entries := map[string]*listEntry{}
	for _, f := range folders {
		entries[f.Name] = &listEntry{info: f, exists: true}
	}
	for _, f := range folders {
		parts := strings.Split(f.Name, "/")
		for i := len(parts) - 1; i >= 1; i-- {
			parent := strings.Join(parts[:i], "/")
			e, ok := entries[parent]
			if !ok {
				e = &listEntry{info: maildir.FolderInfo{Name: parent}}
				entries[parent] = e
			}
			e.children = true
		}
	}
	names := make([]string, 0, len(entries))
	for n := range entries {
		names = append(names, n)
	}
	slices.SortFunc(names, func(a, b string) int {
		// INBOX and its subinboxes first, then the rest, by name.
		ai, bi := maildir.IsSubinbox(a), maildir.IsSubinbox(b)
		if ai != bi {
			if ai {
				return -1
			}
			return 1
		}
		return strings.Compare(a, b)
	})
	ref = canonInbox(ref)
	for _, name := range names {
		e := entries[name]
		matched := false
		for _, p := range patterns {
			pat := p
			if ref == "" || strings.HasPrefix(p, "/") {
				pat = canonInbox(p)
			}
			if matchList(name, ref, pat) {
				matched = true
				break
			}
		}
		if !matched {
			continue
		}
		if options.SelectSubscribed && !e.info.Subscribed {
			continue
		}
		if options.SelectSpecialUse && e.info.SpecialUse == "" {
			continue
		}
		data := &imap.ListData{Delim: '/', Mailbox: name}
		if !e.exists {
			data.Attrs = append(data.Attrs, imap.MailboxAttrNoSelect)
		}
		if e.children {
			data.Attrs = append(data.Attrs, imap.MailboxAttrHasChildren)
		} else {
			data.Attrs = append(data.Attrs, imap.MailboxAttrHasNoChildren)
		}
		if e.info.Subscribed && (options.ReturnSubscribed || options.SelectSubscribed) {
			data.Attrs = append(data.Attrs, imap.MailboxAttrSubscribed)
		}
		if e.info.SpecialUse != "" {
			// RFC 6154 2: shown in every LIST response.
			data.Attrs = append(data.Attrs, imap.MailboxAttr(e.info.SpecialUse))
		}
		if options.ReturnStatus != nil && e.exists {
			st, err := s.status(name, options.ReturnStatus)
			if err == nil {
				data.Status = st
			}
		}
		if err := w.WriteList(data); err != nil {
			return err
		}
	}
	return nil
}

// canonInbox spells a leading INBOX component "INBOX" (RFC 9051 5.1:
// INBOX is case-insensitive, other names are not).
func canonInbox(s string) string {
	if len(s) >= 5 && strings.EqualFold(s[:5], "INBOX") && (len(s) == 5 || s[5] == '/') {
		return "INBOX" + s[5:]
	}
	return s
}

// Status answers STATUS from the index (counters, STATUS=SIZE), never from
// message files; DELETED and RECENT use the in-memory state when the folder
// is open here, else one read of the index.
func (s *session) Status(name string, options *imap.StatusOptions) (data *imap.StatusData, err error) {
	defer s.track("STATUS")(&err)
	return s.status(name, options)
}

func (s *session) status(name string, options *imap.StatusOptions) (*imap.StatusData, error) {
	f, err := s.srv.opts.Store.OpenFolder(s.ctx, s.acct, name)
	if err != nil {
		return nil, err
	}
	st, err := f.Status(s.ctx)
	if err != nil {
		return nil, err
	}
	data := &imap.StatusData{Mailbox: f.Name(), UIDNext: imap.UID(st.UIDNext), UIDValidity: st.UIDValidity}
	if options.NumMessages {
		data.NumMessages = &st.Messages
	}
	if options.NumUnseen {
		data.NumUnseen = &st.Unseen
	}
	if options.Size {
		data.Size = &st.Size
	}
	if options.AppendLimit {
		l := s.srv.opts.AppendLimit
		data.AppendLimit = &l
	}
	if options.NumDeleted {
		data.NumDeleted = &st.Deleted
	}
	if options.NumRecent {
		data.NumRecent = &st.Recent
	}
	return data, nil
}

// matchList is imapserver.MatchList's reference handling (RFC 9051 6.3.9)
// over the mailbox layer's matcher, which is linear in the pattern where
// go-imap's backtracks exponentially on runs of wildcards.
func matchList(name, reference, pattern string) bool {
	if strings.HasPrefix(pattern, "/") {
		reference, pattern = "", pattern[1:]
	}
	if reference != "" {
		if !strings.HasSuffix(reference, "/") {
			reference += "/"
		}
		if !strings.HasPrefix(name, reference) {
			return false
		}
		name = name[len(reference):]
	}
	return maildir.MatchPattern(pattern, name, false)
}
