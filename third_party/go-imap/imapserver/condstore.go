package imapserver

// immp patch (PATCHES.md): the wire side of CONDSTORE (RFC 7162 section
// 3.1). Parsing of the SELECT parameter, the FETCH and STORE modifiers,
// the MODSEQ fetch item and search key and the HIGHESTMODSEQ status item;
// writing of MODSEQ, HIGHESTMODSEQ and MODIFIED. What the values are is
// the backend's: imapserver only carries them. QRESYNC is in qresync.go.

import (
	"strings"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/internal/imapwire"
)

// maxModSeq: a mod-sequence is a positive unsigned 63-bit integer
// (RFC 7162 section 7, mod-sequence-value).
const maxModSeq = 1<<63 - 1

// condStoreAvailable says whether the backend serves CONDSTORE.
func (c *Conn) condStoreAvailable() bool {
	return c.server.options.caps().Has(imap.CapCondStore)
}

// enableCondStore marks the connection CONDSTORE-aware after a
// CONDSTORE enabling command (RFC 7162 section 3.1): from then on the
// backend adds MODSEQ to every untagged FETCH and SELECT reports
// HIGHESTMODSEQ. Without the capability it is a client error.
func (c *Conn) enableCondStore() error {
	if !c.condStoreAvailable() {
		return newClientBugError("CONDSTORE is not supported")
	}
	c.mutex.Lock()
	c.enabled[imap.CapCondStore] = struct{}{}
	c.mutex.Unlock()
	return nil
}

func (c *Conn) condStoreEnabled() bool {
	c.mutex.Lock()
	defer c.mutex.Unlock()
	return c.enabled.Has(imap.CapCondStore)
}

// expectModSeq reads a mod-sequence-valzer (RFC 7162 section 7: "0" or
// a positive 63-bit integer).
func expectModSeq(dec *imapwire.Decoder, ptr *uint64) error {
	if !dec.ExpectModSeq(ptr) {
		return dec.Err()
	}
	if *ptr > maxModSeq {
		return newClientBugError("mod-sequence out of range")
	}
	return nil
}

// readSelectParams reads the optional select parameters after the
// mailbox name of SELECT and EXAMINE (RFC 4466 section 2.1, RFC 7162
// section 3.1.8): CONDSTORE and QRESYNC (section 3.2.5).
func readSelectParams(dec *imapwire.Decoder, options *imap.SelectOptions) error {
	if !dec.SP() {
		return nil
	}
	return dec.ExpectList(func() error {
		var name string
		if !dec.ExpectAtom(&name) {
			return dec.Err()
		}
		switch strings.ToUpper(name) {
		case "CONDSTORE":
			options.CondStore = true
		case "QRESYNC": // immp patch: RFC 7162 section 3.2.5 (qresync.go)
			q, err := readSelectQResync(dec)
			if err != nil {
				return err
			}
			options.QResync = q
		default:
			return newClientBugError("Unknown SELECT parameter")
		}
		return nil
	})
}

// readFetchModifiers reads the optional fetch modifiers after the
// attribute list (RFC 4466 section 2.4): CHANGEDSINCE (RFC 7162 section
// 3.1.4.1), which asks for MODSEQ in every response too. It reports
// whether CHANGEDSINCE was given.
func readFetchModifiers(dec *imapwire.Decoder, options *imap.FetchOptions) (bool, error) {
	if !dec.SP() {
		return false, nil
	}
	changedSince := false
	err := dec.ExpectList(func() error {
		var name string
		if !dec.ExpectAtom(&name) {
			return dec.Err()
		}
		switch strings.ToUpper(name) {
		case "CHANGEDSINCE":
			if !dec.ExpectSP() {
				return dec.Err()
			}
			if err := expectModSeq(dec, &options.ChangedSince); err != nil {
				return err
			}
			changedSince = true
			options.ModSeq = true
		case "VANISHED": // RFC 7162 section 3.2.6 (qresync.go)
			options.Vanished = true
		default:
			return newClientBugError("Unknown FETCH modifier")
		}
		return nil
	})
	return changedSince, err
}

// readStoreModifiers reads the optional store modifiers between the
// number set and the item (RFC 4466 section 2.5): UNCHANGEDSINCE (RFC
// 7162 section 3.1.3), whose value may be 0.
func readStoreModifiers(dec *imapwire.Decoder, options *imap.StoreOptions) error {
	if !dec.Special('(') {
		return nil
	}
	for {
		var name string
		if !dec.ExpectAtom(&name) {
			return dec.Err()
		}
		switch strings.ToUpper(name) {
		case "UNCHANGEDSINCE":
			if !dec.ExpectSP() {
				return dec.Err()
			}
			if err := expectModSeq(dec, &options.UnchangedSince); err != nil {
				return err
			}
			options.Unchanged = true
		default:
			return newClientBugError("Unknown STORE modifier")
		}
		if dec.Special(')') {
			break
		}
		if !dec.ExpectSP() {
			return dec.Err()
		}
	}
	if !dec.ExpectSP() {
		return dec.Err()
	}
	return nil
}

// readSearchModSeq reads the MODSEQ search key after its name (RFC 7162
// section 3.1.5):
//
//	"MODSEQ" [SP entry-name SP entry-type-req] SP mod-sequence-valzer
//
// Two MODSEQ keys in one AND need the higher one.
func readSearchModSeq(criteria *imap.SearchCriteria, dec *imapwire.Decoder) error {
	if !dec.ExpectSP() {
		return dec.Err()
	}
	ms := imap.SearchCriteriaModSeq{}
	var entry string
	if dec.Quoted(&entry) {
		// entry-flag-name = DQUOTE "/flags/" attr-flag DQUOTE
		if !strings.HasPrefix(strings.ToLower(entry), "/flags/") || len(entry) == len("/flags/") {
			return newClientBugError("Invalid MODSEQ entry name")
		}
		var typ string
		if !dec.ExpectSP() || !dec.ExpectAtom(&typ) || !dec.ExpectSP() {
			return dec.Err()
		}
		switch t := imap.SearchCriteriaMetadataType(strings.ToLower(typ)); t {
		case imap.SearchCriteriaMetadataAll, imap.SearchCriteriaMetadataPrivate, imap.SearchCriteriaMetadataShared:
			ms.MetadataName, ms.MetadataType = entry, t
		default:
			return newClientBugError("Invalid MODSEQ entry type")
		}
	}
	if err := expectModSeq(dec, &ms.ModSeq); err != nil {
		return err
	}
	if criteria.ModSeq == nil || ms.ModSeq > criteria.ModSeq.ModSeq {
		criteria.ModSeq = &ms
	}
	return nil
}

// searchHasModSeq says a MODSEQ key occurs anywhere in criteria (a
// CONDSTORE enabling command, RFC 7162 section 3.1).
func searchHasModSeq(criteria *imap.SearchCriteria) bool {
	if criteria.ModSeq != nil {
		return true
	}
	for i := range criteria.Not {
		if searchHasModSeq(&criteria.Not[i]) {
			return true
		}
	}
	for i := range criteria.Or {
		if searchHasModSeq(&criteria.Or[i][0]) || searchHasModSeq(&criteria.Or[i][1]) {
			return true
		}
	}
	return false
}

// writeHighestModSeq writes "* OK [HIGHESTMODSEQ n]" (RFC 7162 section
// 3.1.2.1), or NOMODSEQ for 0, a mailbox without mod-sequences (section
// 3.1.2.2).
func (c *Conn) writeHighestModSeq(n uint64) error {
	enc := newResponseEncoder(c)
	defer enc.end()
	enc.Atom("*").SP().Atom("OK").SP()
	if n == 0 {
		enc.Special('[').Atom("NOMODSEQ").Special(']').SP().Text("No mod-sequences here")
	} else {
		enc.Special('[').Atom("HIGHESTMODSEQ").SP().ModSeq(n).Special(']').SP().Text("Highest")
	}
	return enc.CRLF()
}

// WriteModSeq writes the MODSEQ fetch item (RFC 7162 section 3.1.4.2).
func (w *FetchResponseWriter) WriteModSeq(modSeq uint64) {
	w.writeItemSep()
	w.enc.Atom("MODSEQ").SP().Special('(').ModSeq(modSeq).Special(')')
}

// SetModified records the messages a STORE with UNCHANGEDSINCE did not
// change; the tagged OK carries them as [MODIFIED set] (RFC 7162 section
// 3.1.3): sequence numbers for STORE, UIDs for UID STORE.
func (cmd *FetchWriter) SetModified(set imap.NumSet) {
	cmd.modified = set
}

// WriteHighestModSeq writes "* OK [HIGHESTMODSEQ n]": a mailbox selected
// before the session became CONDSTORE-aware learns its value this way
// (RFC 7162 section 3.1).
func (w *UpdateWriter) WriteHighestModSeq(n uint64) error {
	return w.conn.writeHighestModSeq(n)
}

// WriteMessageFlagsModSeq writes a FETCH response with UID, FLAGS and
// MODSEQ, for a flag change once CONDSTORE is enabled (RFC 7162 section
// 3.1: every later untagged FETCH carries UID and MODSEQ).
func (w *UpdateWriter) WriteMessageFlagsModSeq(seqNum uint32, uid imap.UID, flags []imap.Flag, modSeq uint64) error {
	fetchWriter := &FetchWriter{conn: w.conn}
	respWriter := fetchWriter.CreateMessage(seqNum)
	if uid != 0 {
		respWriter.WriteUID(uid)
	}
	respWriter.WriteFlags(flags)
	respWriter.WriteModSeq(modSeq)
	return respWriter.Close()
}

// modifiedCode is the MODIFIED response code (RFC 7162 section 3.1.3).
func modifiedCode(set imap.NumSet) imap.ResponseCode {
	if set == nil || isNumSetEmpty(set) {
		return ""
	}
	return imap.ResponseCode("MODIFIED " + set.String())
}
