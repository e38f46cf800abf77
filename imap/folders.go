package imap

import (
	"strings"

	"github.com/emersion/go-imap/v2"
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
	if options.HighestModSeq { // RFC 7162 3.1.7
		data.HighestModSeq = wireModSeq(st.HighestModSeq)
	}
	return data, nil
}
