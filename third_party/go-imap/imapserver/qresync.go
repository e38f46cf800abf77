package imapserver

// immp patch (PATCHES.md): the wire side of QRESYNC (RFC 7162 section
// 3.2). Enabling (ENABLE QRESYNC, which enables CONDSTORE too), parsing
// of the QRESYNC select parameter and the VANISHED fetch modifier, and
// writing of VANISHED and VANISHED (EARLIER). Which UIDs vanished and
// which messages changed is the backend's (SessionQResync).

import (
	"fmt"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/internal/imapwire"
)

// SessionQResync is a session that serves QRESYNC (RFC 7162 section
// 3.2).
type SessionQResync interface {
	Session
	// ResyncSelect runs after the responses of a SELECT or EXAMINE that
	// had the QRESYNC parameter, before its tagged OK (RFC 7162 section
	// 3.2.5.1): it writes VANISHED (EARLIER) for the known UIDs that are
	// gone and a FETCH for every message changed since the client's
	// mod-sequence, when the UIDVALIDITY still matches.
	ResyncSelect(w *FetchWriter, options *imap.SelectQResync) error
}

// qresyncAvailable says whether the backend serves QRESYNC.
func (c *Conn) qresyncAvailable() bool {
	if _, ok := c.session.(SessionQResync); !ok {
		return false
	}
	return c.server.options.caps().Has(imap.CapQResync)
}

func (c *Conn) qresyncEnabled() bool {
	c.mutex.Lock()
	defer c.mutex.Unlock()
	return c.enabled.Has(imap.CapQResync)
}

// enableQResync is ENABLE QRESYNC: it enables CONDSTORE as well (RFC
// 7162 section 3.2.3), which the backend sees in Conn.EnabledCaps.
func (c *Conn) enableQResync() {
	c.mutex.Lock()
	c.enabled[imap.CapQResync] = struct{}{}
	c.enabled[imap.CapCondStore] = struct{}{}
	c.mutex.Unlock()
}

// readSelectQResync reads the QRESYNC select parameter after its name
// (RFC 7162 section 3.2.5 and 7):
//
//	"QRESYNC" SP "(" uidvalidity SP mod-sequence-value [SP known-uids]
//	    [SP seq-match-data] ")"
//	seq-match-data = "(" known-sequence-set SP known-uid-set ")"
func readSelectQResync(dec *imapwire.Decoder) (*imap.SelectQResync, error) {
	q := &imap.SelectQResync{}
	if !dec.ExpectSP() || !dec.ExpectSpecial('(') || !dec.ExpectNumber(&q.UIDValidity) || !dec.ExpectSP() {
		return nil, dec.Err()
	}
	if q.UIDValidity == 0 { // uidvalidity = nz-number
		return nil, newClientBugError("QRESYNC UIDVALIDITY must not be 0")
	}
	if err := expectModSeq(dec, &q.ModSeq); err != nil {
		return nil, err
	}
	if dec.SP() {
		if dec.Special('(') {
			m, err := readSeqMatchData(dec)
			if err != nil {
				return nil, err
			}
			q.SeqMatch = m
		} else {
			set, err := expectPlainUIDSet(dec)
			if err != nil {
				return nil, err
			}
			q.KnownUIDs = set
			if dec.SP() {
				if !dec.ExpectSpecial('(') {
					return nil, dec.Err()
				}
				m, err := readSeqMatchData(dec)
				if err != nil {
					return nil, err
				}
				q.SeqMatch = m
			}
		}
	}
	if !dec.ExpectSpecial(')') {
		return nil, dec.Err()
	}
	return q, nil
}

// readSeqMatchData reads seq-match-data after its "(" (RFC 7162 section
// 3.2.5.2).
func readSeqMatchData(dec *imapwire.Decoder) (*imap.SelectSeqMatch, error) {
	var seqs imap.NumSet
	if !dec.ExpectNumSet(imapwire.NumKindSeq, &seqs) {
		return nil, dec.Err()
	}
	seqSet, ok := seqs.(imap.SeqSet)
	if !ok || imap.IsSearchRes(seqs) {
		return nil, newClientBugError("Invalid QRESYNC sequence match data")
	}
	if !dec.ExpectSP() {
		return nil, dec.Err()
	}
	uids, err := expectPlainUIDSet(dec)
	if err != nil {
		return nil, err
	}
	if !dec.ExpectSpecial(')') {
		return nil, dec.Err()
	}
	return &imap.SelectSeqMatch{SeqNums: seqSet, UIDs: uids}, nil
}

// expectPlainUIDSet reads a UID set that may not be "$" (RFC 5182 allows
// it in commands' sequence sets, not in the QRESYNC parameter).
func expectPlainUIDSet(dec *imapwire.Decoder) (imap.UIDSet, error) {
	var set imap.NumSet
	if !dec.ExpectNumSet(imapwire.NumKindUID, &set) {
		return nil, dec.Err()
	}
	uids, ok := set.(imap.UIDSet)
	if !ok || imap.IsSearchRes(set) {
		return nil, newClientBugError("Invalid QRESYNC UID set")
	}
	return uids, nil
}

// checkSelectQResync: the QRESYNC parameter needs ENABLE QRESYNC first,
// else the command is BAD (RFC 7162 section 3.2.5).
func (c *Conn) checkSelectQResync(options *imap.SelectOptions) error {
	if options.QResync != nil && !c.qresyncEnabled() {
		return newClientBugError("QRESYNC parameter without ENABLE QRESYNC")
	}
	return nil
}

// resyncSelect hands a SELECT/EXAMINE with the QRESYNC parameter to the
// backend, after the other responses (RFC 7162 section 3.2.5.1).
func (c *Conn) resyncSelect(options *imap.SelectOptions) error {
	if options.QResync == nil {
		return nil
	}
	session, ok := c.session.(SessionQResync)
	if !ok {
		return nil
	}
	return session.ResyncSelect(&FetchWriter{conn: c}, options.QResync)
}

// checkFetchVanished: the VANISHED fetch modifier (RFC 7162 section
// 3.2.6) is only for UID FETCH, with CHANGEDSINCE, after ENABLE QRESYNC;
// otherwise the command is BAD.
func (c *Conn) checkFetchVanished(options *imap.FetchOptions, numKind NumKind, changedSince bool) error {
	if !options.Vanished {
		return nil
	}
	switch {
	case numKind != NumKindUID:
		return newClientBugError("VANISHED is only allowed with UID FETCH")
	case !changedSince:
		return newClientBugError("VANISHED requires CHANGEDSINCE")
	case !c.qresyncEnabled():
		return newClientBugError("VANISHED without ENABLE QRESYNC")
	}
	return nil
}

func (c *Conn) writeVanished(uids imap.UIDSet, earlier bool) error {
	enc := newResponseEncoder(c)
	defer enc.end()
	enc.Atom("*").SP().Atom("VANISHED").SP()
	if earlier {
		enc.Special('(').Atom("EARLIER").Special(')').SP()
	}
	enc.NumSet(uids)
	return enc.CRLF()
}

// WriteVanished writes "* VANISHED (EARLIER) uids" for a UID FETCH with
// VANISHED or a SELECT with QRESYNC (RFC 7162 section 3.2.10): the UIDs
// are of messages the client may still hold, and sequence numbers do not
// change. An empty set writes nothing.
func (w *FetchWriter) WriteVanished(uids imap.UIDSet) error {
	if len(uids) == 0 {
		return nil
	}
	return w.conn.writeVanished(uids, true)
}

// WriteVanished writes "* VANISHED uids", which replaces EXPUNGE once
// QRESYNC is enabled (RFC 7162 section 3.2.10); it has the same
// restrictions on when it may be sent (RFC 7162 section 3.2.10, RFC 9051
// section 7.5.1). An empty set writes nothing.
func (w *UpdateWriter) WriteVanished(uids imap.UIDSet) error {
	if len(uids) == 0 {
		return nil
	}
	if !w.allowExpunge {
		return fmt.Errorf("imapserver: VANISHED updates are not allowed in this context")
	}
	return w.conn.writeVanished(uids, false)
}

// SetHighestModSeq gives the mailbox's HIGHESTMODSEQ after an EXPUNGE or
// UID EXPUNGE: once QRESYNC is enabled the tagged OK carries it (RFC
// 7162 section 3.2.7), so the backend must read it after its expunge
// and before the updates that follow are written.
func (w *ExpungeWriter) SetHighestModSeq(n uint64) {
	w.highestModSeq = n
}

// writeExpungeOK writes the updates, then the tagged OK of EXPUNGE or
// UID EXPUNGE, with [HIGHESTMODSEQ n] once QRESYNC is enabled (RFC 7162
// section 3.2.7).
func (c *Conn) writeExpungeOK(tag, cmd string, w *ExpungeWriter) error {
	if err := c.poll(cmd); err != nil {
		return err
	}
	var code imap.ResponseCode
	if w.highestModSeq != 0 && c.qresyncEnabled() {
		code = imap.ResponseCode(fmt.Sprintf("HIGHESTMODSEQ %d", w.highestModSeq))
	}
	return c.writeStatusResp(tag, &imap.StatusResponse{
		Type: imap.StatusResponseTypeOK,
		Code: code,
		Text: cmd + " completed",
	})
}
