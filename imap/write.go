package imap

import (
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"

	"github.com/immp-mail/immp/maildir"
)

// Store answers STORE and UID STORE (RFC 9051 6.4.6). Every addressed
// message gets one FETCH response unless .SILENT, with its UID (and
// MODSEQ, and UNCHANGEDSINCE: condstore.go).
func (s *session) Store(w *imapserver.FetchWriter, numSet imap.NumSet, flags *imap.StoreFlags, options *imap.StoreOptions) (err error) {
	defer s.track("STORE")(&err)
	v, err := s.selected()
	if err != nil {
		return err
	}
	if v.readOnly {
		return errReadOnly
	}
	targets := v.resolve(numSet)
	if len(targets) == 0 {
		return nil
	}
	var op maildir.FlagOp
	switch flags.Op {
	case imap.StoreFlagsSet:
		op = maildir.FlagsSet
	case imap.StoreFlagsAdd:
		op = maildir.FlagsAdd
	default:
		op = maildir.FlagsRemove
	}
	fl := normFlags(flags.Flags)
	if !flags.Silent && v.newKeyword(fl) {
		// A keyword the client has not seen in FLAGS must be announced
		// before a FETCH uses it, and only the poll after the command
		// can send FLAGS: the changes reach this client from there, in
		// order (FLAGS, then each FETCH).
		_, modified, err := v.storeFlags(s, false, uidsOf(targets), op, fl, options)
		v.setModified(w, numSet, modified)
		return err
	}
	msgs, modified, err := v.storeFlags(s, true, uidsOf(targets), op, fl, options)
	if err != nil {
		return err
	}
	v.setModified(w, numSet, modified)
	showRecent, condStore := s.showRecent(), s.condStore()
	byUID := make(map[uint32]maildir.Message, len(msgs))
	for _, m := range msgs {
		byUID[m.UID] = m
	}
	for _, t := range targets {
		m, ok := byUID[t.m.UID]
		if !ok {
			continue
		}
		if err := v.writeStoreFetch(w, t, m, flags.Silent, showRecent, condStore); err != nil {
			return err
		}
	}
	return nil
}

// newKeyword says flags hold a keyword not in the FLAGS this client saw.
func (v *view) newKeyword(flags []string) bool {
	for _, f := range flags {
		if strings.HasPrefix(f, `\`) {
			continue
		}
		if !slices.ContainsFunc(v.keywords, func(k string) bool { return strings.EqualFold(k, f) }) {
			return true
		}
	}
	return false
}

// Expunge answers EXPUNGE, UID EXPUNGE (RFC 4315) and CLOSE's implicit
// expunge. The EXPUNGE responses reach this client, like every other, from
// the tracker in the poll that follows the command.
func (s *session) Expunge(w *imapserver.ExpungeWriter, uids *imap.UIDSet) (err error) {
	closing := isCloseWriter(w)
	cmd := "EXPUNGE"
	switch {
	case closing:
		cmd = "CLOSE"
	case uids != nil:
		cmd = "UID EXPUNGE"
	}
	defer s.track(cmd)(&err)
	v, err := s.selected()
	if err != nil {
		return err
	}
	if v.readOnly {
		if closing {
			return nil // RFC 9051 6.4.1: CLOSE after EXAMINE removes nothing
		}
		return errReadOnly
	}
	// Only messages this client knows of (RFC 9051 6.4.3); the EXPUNGE
	// responses reach it, like every other session, through its watcher
	// in the poll that follows the command.
	var known []uint32
	for _, u := range v.uids {
		if !v.gone[u] && (uids == nil || uids.Contains(imap.UID(u))) {
			known = append(known, u)
		}
	}
	if len(known) > 0 {
		if _, err := v.f.Expunge(s.ctx, known); err != nil {
			return err
		}
	}
	return v.expungeHighest(s, w) // qresync.go
}

// isCloseWriter tells CLOSE from EXPUNGE: imapserver hands CLOSE an
// ExpungeWriter without a connection, and this backend must know, because
// under EXAMINE CLOSE succeeds silently while EXPUNGE is refused.
func isCloseWriter(w *imapserver.ExpungeWriter) bool {
	if w == nil {
		return true
	}
	f := reflect.ValueOf(w).Elem().FieldByName("conn")
	return f.IsValid() && f.Kind() == reflect.Pointer && f.IsNil()
}

// openDest opens a COPY/MOVE/APPEND destination (TRYCREATE when missing).
func (s *session) openDest(name string) (*maildir.Folder, maildir.Status, error) {
	f, err := s.srv.opts.Store.OpenFolder(s.ctx, s.acct, name)
	if err != nil {
		return nil, maildir.Status{}, tryCreate(err)
	}
	st, err := f.Status(s.ctx)
	return f, st, err
}

// Copy answers COPY and UID COPY with COPYUID (RFC 4315).
func (s *session) Copy(numSet imap.NumSet, dest string) (data *imap.CopyData, err error) {
	defer s.track("COPY")(&err)
	v, err := s.selected()
	if err != nil {
		return nil, err
	}
	df, st, err := s.openDest(dest)
	if err != nil {
		return nil, err
	}
	same := df.Name() == v.f.Name()
	if same && v.readOnly {
		return nil, errReadOnly
	}
	targets := v.resolve(numSet)
	if len(targets) == 0 {
		return nil, nil
	}
	src, dst, err := v.f.Copy(s.ctx, uidsOf(targets), df.Name())
	if err != nil {
		return nil, tryCreate(err)
	}
	if len(src) == 0 {
		return nil, nil // expunged meanwhile: no COPYUID with empty sets
	}
	return &imap.CopyData{UIDValidity: st.UIDValidity, SourceUIDs: uidSet(src), DestUIDs: uidSet(dst)}, nil
}

// Move answers MOVE and UID MOVE (RFC 6851): COPYUID first, then the
// EXPUNGE responses from the tracker's poll that follows the command.
func (s *session) Move(w *imapserver.MoveWriter, numSet imap.NumSet, dest string) (err error) {
	defer s.track("MOVE")(&err)
	v, err := s.selected()
	if err != nil {
		return err
	}
	if v.readOnly {
		return errReadOnly
	}
	df, st, err := s.openDest(dest)
	if err != nil {
		return err
	}
	targets := v.resolve(numSet)
	if len(targets) == 0 {
		return nil
	}
	src, dst, err := v.f.Move(s.ctx, uidsOf(targets), df.Name())
	if err != nil {
		return tryCreate(err)
	}
	if len(src) == 0 {
		return nil // expunged meanwhile: no COPYUID with empty sets
	}
	return w.WriteCopyData(&imap.CopyData{UIDValidity: st.UIDValidity, SourceUIDs: uidSet(src), DestUIDs: uidSet(dst)})
}

// Append answers APPEND with APPENDUID (RFC 4315). imapserver has already
// refused literals above APPENDLIMIT.
func (s *session) Append(mailbox string, r imap.LiteralReader, options *imap.AppendOptions) (data *imap.AppendData, err error) {
	defer s.track("APPEND")(&err)
	df, st, err := s.openDest(mailbox)
	if err != nil {
		return nil, err
	}
	v := s.view
	same := v != nil && df.Name() == v.f.Name()
	if same && v.readOnly {
		return nil, errReadOnly
	}
	date := options.Time
	if date.IsZero() {
		date = time.Now()
	}
	uid, err := df.Append(s.ctx, r, normFlags(options.Flags), date)
	if err != nil {
		return nil, err
	}
	return &imap.AppendData{UID: imap.UID(uid), UIDValidity: st.UIDValidity}, nil
}
