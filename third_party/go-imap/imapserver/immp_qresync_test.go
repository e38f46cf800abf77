package imapserver

import (
	"reflect"
	"testing"

	"github.com/emersion/go-imap/v2"
)

// immp patch (PATCHES.md): QRESYNC parsing (RFC 7162 section 3.2).

func TestReadSelectQResync(t *testing.T) {
	u := func(r ...imap.UIDRange) imap.UIDSet { return r }
	for _, c := range []struct {
		in   string
		want *imap.SelectQResync // nil: an error
	}{
		{" (QRESYNC (67890007 20050715194045000))\r\n", &imap.SelectQResync{UIDValidity: 67890007, ModSeq: 20050715194045000}},
		{" (qresync (1 0))\r\n", &imap.SelectQResync{UIDValidity: 1}},
		{" (QRESYNC (1 2 41,43:211,214:541))\r\n", &imap.SelectQResync{UIDValidity: 1, ModSeq: 2,
			KnownUIDs: u(imap.UIDRange{Start: 41, Stop: 41}, imap.UIDRange{Start: 43, Stop: 211}, imap.UIDRange{Start: 214, Stop: 541})}},
		{" (QRESYNC (1 2 1:4294967295))\r\n", &imap.SelectQResync{UIDValidity: 1, ModSeq: 2,
			KnownUIDs: u(imap.UIDRange{Start: 1, Stop: 4294967295})}},
		{" (QRESYNC (1 2 1:* (1:3,5 10:12,20)))\r\n", &imap.SelectQResync{UIDValidity: 1, ModSeq: 2,
			KnownUIDs: u(imap.UIDRange{Start: 1, Stop: 0}),
			SeqMatch: &imap.SelectSeqMatch{SeqNums: imap.SeqSet{{Start: 1, Stop: 3}, {Start: 5, Stop: 5}},
				UIDs: u(imap.UIDRange{Start: 10, Stop: 12}, imap.UIDRange{Start: 20, Stop: 20})}}},
		{" (QRESYNC (1 2 (1 10)))\r\n", &imap.SelectQResync{UIDValidity: 1, ModSeq: 2,
			SeqMatch: &imap.SelectSeqMatch{SeqNums: imap.SeqSet{{Start: 1, Stop: 1}}, UIDs: u(imap.UIDRange{Start: 10, Stop: 10})}}},
		{" (CONDSTORE QRESYNC (1 2))\r\n", &imap.SelectQResync{UIDValidity: 1, ModSeq: 2}},
		{" (QRESYNC (0 2))\r\n", nil},                   // uidvalidity = nz-number
		{" (QRESYNC (1 9223372036854775808))\r\n", nil}, // above 2^63-1
		{" (QRESYNC (1))\r\n", nil},                     // no mod-sequence
		{" (QRESYNC 1 2)\r\n", nil},                     // no list
		{" (QRESYNC (1 2 $))\r\n", nil},                 // no SEARCHRES here
		{" (QRESYNC (1 2 1:3 ($ 1)))\r\n", nil},         // nor in match data
		{" (QRESYNC (1 2 1:3 (1:3)))\r\n", nil},         // match data needs two sets
		{" (QRESYNC (1 2 1:3 (1 2) x))\r\n", nil},       // trailing junk
		{" (QRESYNC (1 2 0))\r\n", nil},                 // UID 0
		{" (QRESYNC (1 2 1:3)\r\n", nil},                // unclosed
		{" (QRESYNC (1 2 1:3 (1 2 3)))\r\n", nil},       // three sets
		{" (QRESYNC (4294967296 2))\r\n", nil},          // uidvalidity above 32 bits
		{" (QRESYNC (1 2 1:3 1:3))\r\n", nil},           // two known-uids
	} {
		var o imap.SelectOptions
		dec := newTestDecoder(c.in)
		err := readSelectParams(dec, &o)
		ok := err == nil && endsCleanly(dec)
		if c.want == nil {
			if ok {
				t.Errorf("readSelectParams(%q) = %+v: want an error", c.in, o.QResync)
			}
			continue
		}
		if !ok || !reflect.DeepEqual(o.QResync, c.want) {
			t.Errorf("readSelectParams(%q) = %+v (%+v), %v; want %+v (%+v)", c.in, o.QResync, seqMatch(o.QResync), err, c.want, seqMatch(c.want))
		}
	}
}

func seqMatch(q *imap.SelectQResync) any {
	if q == nil || q.SeqMatch == nil {
		return nil
	}
	return *q.SeqMatch
}

func TestReadFetchVanished(t *testing.T) {
	for _, c := range []struct {
		in       string
		vanished bool
		since    bool
		ok       bool
	}{
		{" (CHANGEDSINCE 5 VANISHED)\r\n", true, true, true},
		{" (vanished changedsince 5)\r\n", true, true, true},
		{" (VANISHED)\r\n", true, false, true},
		{" (VANISHED 1)\r\n", false, false, false},
		{" (CHANGEDSINCE 5)\r\n", false, true, true},
	} {
		var o imap.FetchOptions
		dec := newTestDecoder(c.in)
		since, err := readFetchModifiers(dec, &o)
		ok := err == nil && endsCleanly(dec)
		if ok != c.ok || (ok && (o.Vanished != c.vanished || since != c.since)) {
			t.Errorf("readFetchModifiers(%q) = %+v, %v, %v; want vanished=%v since=%v ok=%v", c.in, o, since, err, c.vanished, c.since, c.ok)
		}
	}
}

// The VANISHED modifier needs UID FETCH, CHANGEDSINCE and ENABLE QRESYNC
// (RFC 7162 section 3.2.6); each missing one is BAD.
func TestCheckFetchVanished(t *testing.T) {
	on := &Conn{enabled: imap.CapSet{imap.CapQResync: {}}}
	off := &Conn{enabled: imap.CapSet{imap.CapCondStore: {}}}
	for _, c := range []struct {
		conn     *Conn
		vanished bool
		kind     NumKind
		since    bool
		ok       bool
	}{
		{on, true, NumKindUID, true, true},
		{on, false, NumKindSeq, false, true},
		{on, true, NumKindSeq, true, false},
		{on, true, NumKindUID, false, false},
		{off, true, NumKindUID, true, false},
	} {
		err := c.conn.checkFetchVanished(&imap.FetchOptions{Vanished: c.vanished}, c.kind, c.since)
		if (err == nil) != c.ok {
			t.Errorf("checkFetchVanished(vanished=%v kind=%v since=%v, qresync=%v) = %v; want ok=%v", c.vanished, c.kind, c.since, c.conn == on, err, c.ok)
		}
		var ie *imap.Error
		if err != nil && (!asIMAPError(err, &ie) || ie.Type != imap.StatusResponseTypeBad) {
			t.Errorf("error %v: want BAD", err)
		}
	}
	if err := off.checkSelectQResync(&imap.SelectOptions{QResync: &imap.SelectQResync{UIDValidity: 1}}); err == nil {
		t.Error("SELECT (QRESYNC) without ENABLE QRESYNC: want BAD")
	}
	if err := on.checkSelectQResync(&imap.SelectOptions{QResync: &imap.SelectQResync{UIDValidity: 1}}); err != nil {
		t.Errorf("SELECT (QRESYNC) after ENABLE QRESYNC: %v", err)
	}
}

func asIMAPError(err error, ie **imap.Error) bool {
	e, ok := err.(*imap.Error)
	*ie = e
	return ok
}

// FuzzQResyncParsers: the QRESYNC grammar never panics nor loops on
// hostile input, and what it accepts is within the grammar's bounds.
func FuzzQResyncParsers(f *testing.F) {
	for _, s := range []string{
		" (QRESYNC (1 2))", " (QRESYNC (1 2 1:*))", " (QRESYNC (1 2 1:3 (1:3 4:6)))", " (QRESYNC (1 2 (1 2)))",
		" (CHANGEDSINCE 5 VANISHED)", " (QRESYNC (((", " (QRESYNC (1 2 1:4294967295,5,6:7))",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		in := s + "\r\n"
		var so imap.SelectOptions
		if err := readSelectParams(newTestDecoder(in), &so); err == nil && so.QResync != nil {
			q := so.QResync
			if q.UIDValidity == 0 || q.ModSeq > maxModSeq || imap.IsSearchRes(q.KnownUIDs) {
				t.Fatalf("accepted %+v", q)
			}
			if q.SeqMatch != nil && (len(q.SeqMatch.SeqNums) == 0 || len(q.SeqMatch.UIDs) == 0) {
				t.Fatalf("accepted empty match data %+v", q.SeqMatch)
			}
		}
		var fo imap.FetchOptions
		readFetchModifiers(newTestDecoder(in), &fo)
	})
}
