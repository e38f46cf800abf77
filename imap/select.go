package imap

import (
	"slices"
	"strings"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
)

// view is one session's selection of a folder.
type view struct {
	mb       *mailbox
	st       *imapserver.SessionTracker
	readOnly bool

	// Guarded by mb.mu.
	recent        map[uint32]struct{}
	recentChanged bool

	searchRes imap.UIDSet // SEARCHRES "$" (RFC 5182)
}

var systemFlags = []imap.Flag{imap.FlagAnswered, imap.FlagFlagged, imap.FlagDeleted, imap.FlagSeen, imap.FlagDraft}

// Select opens a folder read-write (SELECT) or read-only (EXAMINE). It
// reads only the folder's index, and nothing at all when another session
// already has the folder open.
func (s *session) Select(name string, options *imap.SelectOptions) (data *imap.SelectData, err error) {
	cmd := "SELECT"
	if options.ReadOnly {
		cmd = "EXAMINE"
	}
	defer s.track(cmd)(&err)
	mb, err := s.srv.reg.acquire(s.ctx, s.acct, name)
	if err != nil {
		return nil, err
	}
	v := &view{mb: mb, readOnly: options.ReadOnly, recent: make(map[uint32]struct{})}

	mb.mu.Lock()
	defer mb.mu.Unlock()
	// Registering under mb.mu keeps the tracker's count equal to the
	// snapshot answered here.
	v.st = mb.tracker.NewSession()
	mb.views = append(mb.views, v)
	data = &imap.SelectData{
		NumMessages: uint32(len(mb.msgs)),
		UIDNext:     imap.UID(max(mb.uidNext, mb.maxUID+1)),
		UIDValidity: mb.uidValidity,
	}
	// RFC 3501 2.3.2: a read-write SELECT claims the recent messages;
	// EXAMINE shows them without taking them away (RFC 3501 6.3.2).
	for _, m := range mb.msgs {
		if m.uid > mb.recentMax {
			v.recent[m.uid] = struct{}{}
		}
	}
	if !options.ReadOnly && len(mb.msgs) > 0 {
		mb.recentMax = max(mb.recentMax, mb.msgs[len(mb.msgs)-1].uid)
	}
	data.NumRecent = uint32(len(v.recent))
	keywords := map[string]struct{}{}
	for i, m := range mb.msgs {
		if data.FirstUnseenSeqNum == 0 && !slices.Contains(m.flags, string(imap.FlagSeen)) {
			data.FirstUnseenSeqNum = uint32(i + 1)
		}
		for _, f := range m.flags {
			if !strings.HasPrefix(f, `\`) {
				keywords[f] = struct{}{}
			}
		}
	}
	data.Flags = slices.Clone(systemFlags)
	for k := range keywords {
		data.Flags = append(data.Flags, imap.Flag(k))
	}
	slices.Sort(data.Flags[len(systemFlags):])
	if !options.ReadOnly {
		data.PermanentFlags = append(slices.Clone(data.Flags), imap.FlagWildcard)
	}
	s.view = v
	return data, nil
}

// Unselect leaves the folder (UNSELECT, CLOSE, and before another SELECT).
func (s *session) Unselect() (err error) {
	if s.view != nil {
		s.view.close()
		s.view = nil
	}
	return nil
}

func (v *view) close() {
	mb := v.mb
	mb.mu.Lock()
	if i := slices.Index(mb.views, v); i >= 0 {
		mb.views = slices.Delete(mb.views, i, i+1)
	}
	mb.mu.Unlock()
	v.st.Close()
	mb.reg.release(mb)
}

// writeRecent sends "* n RECENT" when messages became recent in this
// session (IMAP4rev1 only; imapserver drops it under IMAP4rev2).
func (v *view) writeRecent(w *imapserver.UpdateWriter) error {
	v.mb.mu.Lock()
	changed := v.recentChanged
	v.recentChanged = false
	// Expunged messages stop being recent.
	if changed {
		for uid := range v.recent {
			if _, ok := v.mb.find(uid); !ok {
				delete(v.recent, uid)
			}
		}
	}
	n := uint32(len(v.recent))
	v.mb.mu.Unlock()
	if !changed {
		return nil
	}
	return w.WriteNumRecent(n)
}

func (v *view) idle(w *imapserver.UpdateWriter, stop <-chan struct{}) error {
	return v.st.Idle(w, stop)
}

func (v *view) isRecent(uid uint32) bool {
	_, ok := v.recent[uid]
	return ok
}

func (mb *mailbox) isGone() bool {
	mb.mu.Lock()
	defer mb.mu.Unlock()
	return mb.gone
}

// flagsFor is a message's flags as this session sees them (\Recent added).
func (v *view) flagsFor(m *msgMeta, showRecent bool) []imap.Flag {
	fl := toFlags(m.flags)
	if showRecent && v.isRecent(m.uid) {
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
