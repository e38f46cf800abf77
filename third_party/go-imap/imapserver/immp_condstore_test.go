package imapserver

import (
	"bufio"
	"strings"
	"testing"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/internal/imapwire"
)

// immp patch (PATCHES.md): CONDSTORE parsing (RFC 7162 section 3.1).

func newTestDecoder(s string) *imapwire.Decoder {
	return imapwire.NewDecoder(bufio.NewReader(strings.NewReader(s)), imapwire.ConnSideServer)
}

// endsCleanly says the decoder stopped at the CRLF.
func endsCleanly(dec *imapwire.Decoder) bool { return dec.CRLF() }

func TestReadSelectParams(t *testing.T) {
	for _, c := range []struct {
		in        string
		condStore bool
		ok        bool
	}{
		{"\r\n", false, true},
		{" (CONDSTORE)\r\n", true, true},
		{" (condstore)\r\n", true, true},
		{" ()\r\n", false, true},
		{" (QRESYNC (1 2))\r\n", false, true}, // immp_qresync_test.go
		{" (CONDSTORE\r\n", true, false},
		{" CONDSTORE\r\n", false, false},
	} {
		var o imap.SelectOptions
		dec := newTestDecoder(c.in)
		err := readSelectParams(dec, &o)
		ok := err == nil && endsCleanly(dec)
		if ok != c.ok || (ok && o.CondStore != c.condStore) {
			t.Errorf("readSelectParams(%q) = %+v, %v; want ok=%v condstore=%v", c.in, o, err, c.ok, c.condStore)
		}
	}
}

func TestReadFetchModifiers(t *testing.T) {
	for _, c := range []struct {
		in    string
		since uint64
		given bool
		ok    bool
	}{
		{"\r\n", 0, false, true},
		{" (CHANGEDSINCE 12345)\r\n", 12345, true, true},
		{" (changedsince 0)\r\n", 0, true, true},
		{" (CHANGEDSINCE 9223372036854775807)\r\n", 1<<63 - 1, true, true},
		{" (CHANGEDSINCE 9223372036854775808)\r\n", 0, false, false},
		{" (CHANGEDSINCE 99999999999999999999)\r\n", 0, false, false},
		{" (CHANGEDSINCE)\r\n", 0, false, false},
		{" (CHANGEDSINCE x)\r\n", 0, false, false},
		{" (VANISHED)\r\n", 0, false, true},               // BAD later: immp_qresync_test.go
		{" (CHANGEDSINCE 1 VANISHED)\r\n", 1, true, true}, // QRESYNC
		{" CHANGEDSINCE 1\r\n", 0, false, false},
	} {
		var o imap.FetchOptions
		dec := newTestDecoder(c.in)
		given, err := readFetchModifiers(dec, &o)
		ok := err == nil && endsCleanly(dec)
		if ok != c.ok || (ok && (given != c.given || o.ChangedSince != c.since || o.ModSeq != c.given)) {
			t.Errorf("readFetchModifiers(%q) = %+v, %v, %v; want ok=%v since=%d", c.in, o, given, err, c.ok, c.since)
		}
	}
}

func TestReadStoreModifiers(t *testing.T) {
	for _, c := range []struct {
		in        string
		since     uint64
		unchanged bool
		ok        bool
	}{
		{"+FLAGS", 0, false, true},
		{"(UNCHANGEDSINCE 7) +FLAGS", 7, true, true},
		{"(unchangedsince 0) FLAGS", 0, true, true},
		{"(UNCHANGEDSINCE 9223372036854775808) FLAGS", 0, false, false},
		{"(UNCHANGEDSINCE) FLAGS", 0, false, false},
		{"(UNCHANGEDSINCE 1 FLAGS", 0, false, false},
		{"(UNCHANGEDSINCE 1)FLAGS", 0, false, false},
		{"(FOO 1) FLAGS", 0, false, false},
		{"() FLAGS", 0, false, false},
	} {
		var o imap.StoreOptions
		dec := newTestDecoder(c.in + "\r\n")
		err := readStoreModifiers(dec, &o)
		var item string
		ok := err == nil && dec.ExpectAtom(&item) && endsCleanly(dec)
		if ok != c.ok || (ok && (o.Unchanged != c.unchanged || o.UnchangedSince != c.since)) {
			t.Errorf("readStoreModifiers(%q) = %+v, %v; want ok=%v since=%d", c.in, o, err, c.ok, c.since)
		}
	}
}

func TestReadSearchModSeq(t *testing.T) {
	for _, c := range []struct {
		in   string
		want *imap.SearchCriteriaModSeq
	}{
		{"MODSEQ 5", &imap.SearchCriteriaModSeq{ModSeq: 5}},
		{"MODSEQ 0", &imap.SearchCriteriaModSeq{ModSeq: 0}},
		{`MODSEQ "/flags/\\seen" all 9`, &imap.SearchCriteriaModSeq{ModSeq: 9, MetadataName: `/flags/\seen`, MetadataType: "all"}},
		{`modseq "/flags/$Work" PRIV 9`, &imap.SearchCriteriaModSeq{ModSeq: 9, MetadataName: "/flags/$Work", MetadataType: "priv"}},
		{`MODSEQ "/flags/x" shared 9`, &imap.SearchCriteriaModSeq{ModSeq: 9, MetadataName: "/flags/x", MetadataType: "shared"}},
		{"MODSEQ 3 MODSEQ 8 MODSEQ 4", &imap.SearchCriteriaModSeq{ModSeq: 8}},
		{"MODSEQ", nil},
		{"MODSEQ x", nil},
		{"MODSEQ -1", nil},
		{"MODSEQ 9223372036854775808", nil},
		{`MODSEQ "/flags/\\seen" 5`, nil},
		{`MODSEQ "/flags/\\seen" mine 5`, nil},
		{`MODSEQ "/flags/" all 5`, nil},
		{`MODSEQ "/vendor/x" all 5`, nil},
	} {
		var cr imap.SearchCriteria
		dec := newTestDecoder(c.in + "\r\n")
		var err error
		for {
			if err = readSearchKey(&cr, dec); err != nil || !dec.SP() {
				break
			}
		}
		ok := err == nil && endsCleanly(dec)
		switch {
		case c.want == nil && ok:
			t.Errorf("%q parsed as %+v; want an error", c.in, cr.ModSeq)
		case c.want != nil && (!ok || cr.ModSeq == nil || *cr.ModSeq != *c.want):
			t.Errorf("%q = %+v, %v; want %+v", c.in, cr.ModSeq, err, c.want)
		}
	}
	// Nested keys count as MODSEQ keys (CONDSTORE enabling).
	var cr imap.SearchCriteria
	if err := readSearchKey(&cr, newTestDecoder("OR SEEN (NOT MODSEQ 3)\r\n")); err != nil || !searchHasModSeq(&cr) {
		t.Fatalf("nested MODSEQ: %+v, %v", cr, err)
	}
}

func TestReadStatusHighestModSeq(t *testing.T) {
	var o imap.StatusOptions
	if err := readStatusItem(newTestDecoder("highestmodseq\r\n"), &o); err != nil || !o.HighestModSeq {
		t.Fatalf("STATUS HIGHESTMODSEQ item: %+v, %v", o, err)
	}
}

func TestModifiedCode(t *testing.T) {
	var seqs imap.SeqSet
	seqs.AddNum(1, 2, 3, 7)
	if got := modifiedCode(seqs); got != "MODIFIED 1:3,7" {
		t.Fatalf("modifiedCode = %q", got)
	}
	if got := modifiedCode(imap.UIDSet{}); got != "" {
		t.Fatalf("empty set gives %q", got)
	}
}

// FuzzCondStoreParsers: the CONDSTORE grammar never panics nor loops on
// hostile input, and a value it accepts is a valid mod-sequence.
func FuzzCondStoreParsers(f *testing.F) {
	for _, s := range []string{
		" (CONDSTORE)", " (CHANGEDSINCE 5)", "(UNCHANGEDSINCE 0) +FLAGS", `MODSEQ "/flags/\\seen" all 1`,
		"MODSEQ 18446744073709551615", " (CHANGEDSINCE 1 CHANGEDSINCE 2)", "(UNCHANGEDSINCE 1 UNCHANGEDSINCE 2) ", "((((",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		in := s + "\r\n"
		var so imap.SelectOptions
		readSelectParams(newTestDecoder(in), &so)
		var fo imap.FetchOptions
		if _, err := readFetchModifiers(newTestDecoder(in), &fo); err == nil && fo.ChangedSince > maxModSeq {
			t.Fatalf("CHANGEDSINCE %d accepted", fo.ChangedSince)
		}
		var sto imap.StoreOptions
		if err := readStoreModifiers(newTestDecoder(in), &sto); err == nil && sto.UnchangedSince > maxModSeq {
			t.Fatalf("UNCHANGEDSINCE %d accepted", sto.UnchangedSince)
		}
		var cr imap.SearchCriteria
		if err := readSearchKey(&cr, newTestDecoder(in)); err == nil && cr.ModSeq != nil && cr.ModSeq.ModSeq > maxModSeq {
			t.Fatalf("MODSEQ %d accepted", cr.ModSeq.ModSeq)
		}
	})
}
