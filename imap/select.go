package imap

import (
	"slices"
	"strings"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"

	"github.com/immp-mail/immp/maildir"
)

// view is one session's selection of a folder. The folder's state (UIDs,
// flags, keywords, \Recent) is the mailbox layer's, read through f; what
// the view keeps is only what this client has been told: its sequence
// numbers, the expunges it has not been told of yet, its \Recent set
// and the keyword list it last saw in FLAGS.
type view struct {
	f           *maildir.Folder
	w           *maildir.Watcher
	readOnly    bool
	acct        int64
	uidValidity uint32

	// uids are the client's sequence numbers: uids[i] is message i+1.
	uids []uint32
	// gone holds expunged UIDs still in uids: an EXPUNGE may not be sent
	// during FETCH, STORE or SEARCH (RFC 9051 7.5.1).
	gone map[uint32]bool
	// recent: \Recent in this session (RFC 3501 2.3.2).
	recent        map[uint32]bool
	recentChanged bool
	keywords      []string
	deleted       bool
	// toldHighest: the client has been told HIGHESTMODSEQ (condstore.go).
	toldHighest bool
	// toldUIDNext is above every UID the client has been told of: the
	// UIDNEXT of SELECT, or above the last EXISTS (qresync.go).
	toldUIDNext uint32

	searchRes imap.UIDSet // SEARCHRES "$" (RFC 5182)
}

var systemFlags = []imap.Flag{imap.FlagAnswered, imap.FlagFlagged, imap.FlagDeleted, imap.FlagSeen, imap.FlagDraft}

// Select opens a folder read-write (SELECT) or read-only (EXAMINE). The
// mailbox layer settles the folder first, so every message acknowledged
// before the command is in the answer.
func (s *session) Select(name string, options *imap.SelectOptions) (data *imap.SelectData, err error) {
	cmd := "SELECT"
	if options.ReadOnly {
		cmd = "EXAMINE"
	}
	defer s.track(cmd)(&err)
	f, err := s.srv.opts.Store.OpenFolder(s.ctx, s.acct, name)
	if err != nil {
		return nil, err
	}
	// RFC 3501 2.3.2: a read-write SELECT claims the recent messages;
	// EXAMINE shows them without taking them away (RFC 3501 6.3.2).
	w, snap, err := f.Watch(s.ctx, !options.ReadOnly)
	if err != nil {
		return nil, err
	}
	v := &view{f: f, w: w, readOnly: options.ReadOnly, acct: s.acct.ID, uidValidity: snap.UIDValidity,
		uids: make([]uint32, len(snap.Messages)), gone: map[uint32]bool{}, recent: map[uint32]bool{},
		keywords: snap.Keywords, toldUIDNext: snap.UIDNext}
	data = &imap.SelectData{
		NumMessages: uint32(len(snap.Messages)),
		UIDNext:     imap.UID(snap.UIDNext),
		UIDValidity: snap.UIDValidity,
		NumRecent:   uint32(len(snap.Recent)),
		// RFC 7162 3.1.2.1, written by go-imap once CONDSTORE is enabled
		HighestModSeq: wireModSeq(snap.HighestModSeq),
	}
	v.toldHighest = s.condStore()
	for i, m := range snap.Messages {
		v.uids[i] = m.UID
		if data.FirstUnseenSeqNum == 0 && !slices.Contains(m.Flags, string(imap.FlagSeen)) {
			data.FirstUnseenSeqNum = uint32(i + 1)
		}
	}
	for _, u := range snap.Recent {
		v.recent[u] = true
	}
	data.Flags = v.mailboxFlags()
	if !options.ReadOnly {
		data.PermanentFlags = append(slices.Clone(data.Flags), imap.FlagWildcard)
	}
	s.view = v
	return data, nil
}

// mailboxFlags is the FLAGS list: system flags and the folder's keywords.
func (v *view) mailboxFlags() []imap.Flag {
	fl := slices.Clone(systemFlags)
	for _, k := range v.keywords {
		fl = append(fl, imap.Flag(k))
	}
	return fl
}

// Unselect leaves the folder (UNSELECT, CLOSE, and before another SELECT).
func (s *session) Unselect() (err error) {
	if s.view != nil {
		s.view.w.Close()
		s.view = nil
	}
	return nil
}

// update tells the client what changed since it was last told, in the
// order Dovecot sends it: FLAGS for new keywords, EXPUNGE (held back
// while !allowExpunge, RFC 9051 7.5.1), EXISTS for what arrived, then
// FETCH FLAGS for changed messages (the last flags of each). A message
// that arrived and went before the client heard of it is never
// mentioned.
func (v *view) update(w *imapserver.UpdateWriter, allowExpunge, showRecent, condStore, qresync bool) error {
	var fresh []uint32             // arrived, not announced yet
	flags := map[uint32][]string{} // last flags of each changed message
	modseqs := map[uint32]uint64{} // and the modseq of that change
	var changed []uint32           // in order of first change
	for _, ev := range v.w.Changes() {
		switch ev.Kind {
		case maildir.EventNew:
			last := uint32(0)
			if n := len(fresh); n > 0 {
				last = fresh[n-1]
			} else if n := len(v.uids); n > 0 {
				last = v.uids[n-1]
			}
			if ev.UID <= last {
				continue // already in the snapshot
			}
			fresh = append(fresh, ev.UID)
			if ev.Recent {
				v.recent[ev.UID], v.recentChanged = true, true
			}
		case maildir.EventFlags:
			if _, ok := flags[ev.UID]; !ok {
				changed = append(changed, ev.UID)
			}
			flags[ev.UID], modseqs[ev.UID] = ev.Flags, ev.ModSeq
		case maildir.EventExpunge:
			delete(flags, ev.UID)
			if i := slices.Index(fresh, ev.UID); i >= 0 {
				fresh = slices.Delete(fresh, i, i+1)
				delete(v.recent, ev.UID)
				continue
			}
			if v.seqOf(ev.UID) != 0 {
				v.gone[ev.UID] = true
			}
		case maildir.EventKeywords:
			if !slices.Equal(v.keywords, ev.Keywords) {
				v.keywords = ev.Keywords
				if err := w.WriteMailboxFlags(v.mailboxFlags()); err != nil {
					return err
				}
			}
		case maildir.EventFolderDeleted:
			v.deleted = true
		}
	}
	if allowExpunge {
		if err := v.flushExpunges(w, qresync); err != nil {
			return err
		}
	}
	if len(fresh) > 0 {
		v.uids = append(v.uids, fresh...)
		v.toldUIDNext = max(v.toldUIDNext, fresh[len(fresh)-1]+1)
		if err := w.WriteNumMessages(uint32(len(v.uids))); err != nil {
			return err
		}
	}
	superseded := v.superseded(changed, modseqs) // condstore.go
	for _, uid := range changed {
		fl, ok := flags[uid]
		seq := v.seqOf(uid)
		if !ok || seq == 0 || v.gone[uid] || superseded[uid] {
			continue
		}
		if err := writeFlagsUpdate(w, seq, uid, v.flagsFor(uid, fl, showRecent), modseqs[uid], condStore); err != nil {
			return err
		}
	}
	if v.recentChanged {
		v.recentChanged = false
		return w.WriteNumRecent(uint32(len(v.recent)))
	}
	return nil
}

// flushExpunges sends the EXPUNGE responses held back, highest sequence
// number first so that each number is valid when it is sent; once
// QRESYNC is enabled, one VANISHED instead (qresync.go).
func (v *view) flushExpunges(w *imapserver.UpdateWriter, qresync bool) error {
	if len(v.gone) == 0 {
		return nil
	}
	if qresync {
		return v.flushVanished(w)
	}
	for i := len(v.uids) - 1; i >= 0; i-- {
		u := v.uids[i]
		if !v.gone[u] {
			continue
		}
		if err := w.WriteExpunge(uint32(i + 1)); err != nil {
			return err
		}
		v.uids = slices.Delete(v.uids, i, i+1)
		delete(v.gone, u)
		if v.recent[u] {
			delete(v.recent, u)
		}
	}
	return nil
}

// seqOf is the client's sequence number of uid (0: not known to it).
func (v *view) seqOf(uid uint32) uint32 {
	i, ok := slices.BinarySearch(v.uids, uid)
	if !ok {
		return 0
	}
	return uint32(i + 1)
}

// flagsFor is a message's flags as this session sees them (\Recent added
// for IMAP4rev1 clients).
func (v *view) flagsFor(uid uint32, flags []string, showRecent bool) []imap.Flag {
	fl := make([]imap.Flag, len(flags), len(flags)+1)
	for i, f := range flags {
		fl[i] = imap.Flag(f)
	}
	if showRecent && v.recent[uid] {
		fl = append(fl, imap.Flag(`\Recent`))
	}
	return fl
}

// normFlags prepares client flags for the mailbox layer: system flags in
// their canonical spelling (RFC 9051 2.3.2 flags are case-insensitive),
// \Recent dropped (it cannot be stored, RFC 3501 2.3.2).
func normFlags(in []imap.Flag) []string {
	out := make([]string, 0, len(in))
	for _, f := range in {
		s := string(f)
		if strings.HasPrefix(s, `\`) {
			if strings.EqualFold(s, `\Recent`) {
				continue
			}
			for _, sf := range systemFlags {
				if strings.EqualFold(s, string(sf)) {
					s = string(sf)
				}
			}
		}
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}
