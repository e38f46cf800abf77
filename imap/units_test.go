package imap

import (
	"reflect"
	"slices"
	"testing"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
)

func TestNormFlags(t *testing.T) {
	for _, tc := range []struct {
		in   []imap.Flag
		want []string
	}{
		{[]imap.Flag{`\seen`, `\FLAGGED`}, []string{`\Seen`, `\Flagged`}},
		{[]imap.Flag{`\Recent`, `\recent`, "$Work"}, []string{"$Work"}},
		{[]imap.Flag{"$Work", "$Work", `\Deleted`}, []string{"$Work", `\Deleted`}},
		{nil, []string{}},
	} {
		if got := normFlags(tc.in); !slices.Equal(got, tc.want) {
			t.Errorf("normFlags(%v) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

// isCloseWriter reads an unexported field of imapserver.ExpungeWriter; this
// test fails loudly if an upgrade of go-imap renames it.
func TestIsCloseWriterTracksImapserver(t *testing.T) {
	f, ok := reflect.TypeOf(imapserver.ExpungeWriter{}).FieldByName("conn")
	if !ok || f.Type.Kind() != reflect.Pointer {
		t.Fatal("imapserver.ExpungeWriter has no conn pointer: isCloseWriter must be revisited")
	}
	if !isCloseWriter(&imapserver.ExpungeWriter{}) {
		t.Error("an ExpungeWriter without connection (CLOSE) is not recognised")
	}
}

func TestParseCacheLRU(t *testing.T) {
	c := newParseCache(2, 1<<20)
	k := func(uid uint32) cacheKey { return cacheKey{acct: 1, folder: "INBOX", uidValidity: 7, uid: uid} }
	p1, p2, p3 := &parsed{}, &parsed{}, &parsed{}
	c.put(k(1), p1)
	c.put(k(2), p2)
	if c.get(k(1)) != p1 { // 1 is now the most recent
		t.Fatal("entry 1 missing")
	}
	c.put(k(3), p3) // evicts 2
	if c.get(k(2)) != nil || c.get(k(1)) != p1 || c.get(k(3)) != p3 {
		t.Error("LRU eviction wrong")
	}
	if other := (cacheKey{acct: 1, folder: "INBOX", uidValidity: 8, uid: 1}); c.get(other) != nil {
		t.Error("a new UIDVALIDITY must not hit")
	}
	off := newParseCache(-1, 1<<20)
	off.put(k(1), p1)
	if off.get(k(1)) != nil {
		t.Error("disabled cache returned an entry")
	}
}

func TestStaticRange(t *testing.T) {
	for _, tc := range []struct{ a, b, max, wa, wb uint32 }{
		{1, 0, 9, 1, 9}, {0, 0, 9, 9, 9}, {12, 0, 9, 9, 12}, {3, 5, 9, 3, 5}, {5, 3, 9, 3, 5},
	} {
		if a, b := staticRange(tc.a, tc.b, tc.max); a != tc.wa || b != tc.wb {
			t.Errorf("staticRange(%d,%d,%d) = %d,%d", tc.a, tc.b, tc.max, a, b)
		}
	}
}
