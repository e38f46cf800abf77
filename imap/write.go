package imap

import (
	"context"
	"reflect"
	"slices"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"

	"immp/maildir"
)

// storeFlags changes flags through the mailbox layer and waits until its
// event has reached this folder's state. This session is marked as the
// source, so the tracker does not echo the change back to it; the caller
// answers for itself.
func (v *view) storeFlags(ctx context.Context, uids []uint32, op maildir.FlagOp, flags []string) ([]maildir.Message, error) {
	mb := v.mb
	mb.mu.Lock()
	for _, u := range uids {
		mb.silent[u] = v.st
	}
	mb.mu.Unlock()
	defer func() {
		mb.mu.Lock()
		for _, u := range uids {
			if mb.silent[u] == v.st {
				delete(mb.silent, u)
			}
		}
		mb.mu.Unlock()
	}()
	msgs, err := mb.folder.StoreFlags(ctx, uids, op, flags)
	if err != nil {
		return nil, err
	}
	mb.waitFor(ctx, func() bool {
		for _, m := range msgs {
			if i, ok := mb.find(m.UID); ok && !slices.Equal(mb.msgs[i].flags, m.Flags) {
				return false
			}
		}
		return true
	})
	return msgs, nil
}

// Store answers STORE and UID STORE (RFC 9051 6.4.6). Every addressed
// message gets one FETCH response unless .SILENT, with its UID.
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
	msgs, err := v.storeFlags(s.ctx, uidsOf(targets), op, normFlags(flags.Flags))
	if err != nil {
		return err
	}
	if flags.Silent {
		return nil
	}
	showRecent := s.showRecent()
	byUID := make(map[uint32][]string, len(msgs))
	for _, m := range msgs {
		byUID[m.UID] = m.Flags
	}
	for _, t := range targets {
		f, ok := byUID[t.m.uid]
		if !ok {
			continue
		}
		t.m.flags = f
		v.mb.mu.Lock()
		fl := v.flagsFor(&t.m, showRecent)
		v.mb.mu.Unlock()
		rw := w.CreateMessage(t.seq)
		rw.WriteUID(imap.UID(t.m.uid))
		rw.WriteFlags(fl)
		if err := rw.Close(); err != nil {
			return err
		}
	}
	return nil
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
	var del []uint32
	v.mb.mu.Lock()
	for _, m := range v.mb.msgs {
		if slices.Contains(m.flags, string(imap.FlagDeleted)) && (uids == nil || uids.Contains(imap.UID(m.uid))) {
			del = append(del, m.uid)
		}
	}
	v.mb.mu.Unlock()
	if len(del) == 0 {
		return nil
	}
	gone, err := v.mb.folder.Expunge(s.ctx, del)
	if err != nil {
		return err
	}
	v.mb.waitFor(s.ctx, func() bool {
		for _, u := range gone {
			if _, ok := v.mb.find(u); ok {
				return false
			}
		}
		return true
	})
	return nil
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
	same := df.Name() == v.mb.folder.Name()
	if same && v.readOnly {
		return nil, errReadOnly
	}
	targets := v.resolve(numSet)
	if len(targets) == 0 {
		return nil, nil
	}
	src, dst, err := v.mb.folder.Copy(s.ctx, uidsOf(targets), df.Name())
	if err != nil {
		return nil, tryCreate(err)
	}
	if same && len(dst) > 0 {
		top := slices.Max(dst)
		v.mb.waitFor(s.ctx, func() bool { return v.mb.maxUID >= top })
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
	if df.Name() == v.mb.folder.Name() {
		return errSameMailbox
	}
	targets := v.resolve(numSet)
	if len(targets) == 0 {
		return nil
	}
	src, dst, err := v.mb.folder.Move(s.ctx, uidsOf(targets), df.Name())
	if err != nil {
		return tryCreate(err)
	}
	v.mb.waitFor(s.ctx, func() bool {
		for _, u := range src {
			if _, ok := v.mb.find(u); ok {
				return false
			}
		}
		return true
	})
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
	same := v != nil && df.Name() == v.mb.folder.Name()
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
	if same {
		v.mb.waitFor(s.ctx, func() bool { return v.mb.maxUID >= uid })
	}
	return &imap.AppendData{UID: imap.UID(uid), UIDValidity: st.UIDValidity}, nil
}
