package httpapi

import (
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParseFilter(t *testing.T) {
	for _, c := range []struct {
		query string
		check func(filter) bool
		bad   bool
	}{
		{"from=Shop", func(f filter) bool { return f.From == "shop" }, false},
		{"q=from:a+subject:%22big+deal%22+hello", func(f filter) bool {
			return f.From == "a" && f.Subject == "big deal" && slices.Equal(f.Any, []string{"hello"})
		}, false},
		{"q=%22from:a%22", func(f filter) bool { return f.From == "" && slices.Equal(f.Any, []string{"from:a"}) }, false},
		{"q=https://x.test/a", func(f filter) bool { return slices.Equal(f.Any, []string{"https://x.test/a"}) }, false},
		{"q=body:socks", func(f filter) bool { return f.Text == "socks" }, false},
		{"q=is:unseen", func(f filter) bool { return f.Seen != nil && !*f.Seen }, false},
		{"q=subject:%22say+%5C%22hi%5C%22%22", func(f filter) bool { return f.Subject == `say "hi"` }, false},
		{"since=2026-01-02", func(f filter) bool { return f.Since.Equal(time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC)) }, false},
		{"before=2026-01-02T03:04:05Z", func(f filter) bool { return f.Before.Equal(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)) }, false},
		{"account=A@X.test&folder=INBOX/work", func(f filter) bool { return f.Account == "a@x.test" && f.Folder == "INBOX/work" }, false},
		{"q=%22open", nil, true},
		{"q=is:maybe", nil, true},
		{"q=since:never", nil, true},
		{"seen=perhaps", nil, true},
		{"q=" + url.QueryEscape(string([]byte{0xff})), nil, true},
	} {
		q, _ := url.ParseQuery(c.query)
		f, err := parseFilter(q)
		if c.bad {
			if err == nil {
				t.Errorf("%s: no error", c.query)
			}
			continue
		}
		if err != nil || !c.check(f) {
			t.Errorf("%s: %+v, %v", c.query, f, err)
		}
	}
}

func TestParseEnvelope(t *testing.T) {
	h := []byte("From: =?UTF-8?Q?J=C3=BCrgen?= <j@x.test>, other@x.test\r\nTo: a@x.test,\r\n b@x.test\r\nCc: Group: c@x.test;\r\n" +
		"Subject: =?UTF-8?B?SGVsbG8=?=\r\n  world\r\nDate: Tue, 3 Feb 2026 04:05:06 +0100\r\n")
	e := parseEnvelope(h)
	if e.From != "j@x.test" || e.FromName != "Jürgen" || !slices.Equal(e.To, []string{"a@x.test", "b@x.test"}) ||
		!slices.Equal(e.Cc, []string{"c@x.test"}) || e.Subject != "Hello world" ||
		!e.Date.Equal(time.Date(2026, 2, 3, 3, 5, 6, 0, time.UTC)) {
		t.Fatalf("%+v", e)
	}
	e = parseEnvelope(nil)
	if e.From != "" || e.To == nil || e.Cc == nil || !e.Date.IsZero() {
		t.Fatalf("empty: %+v", e)
	}
}

func TestRefRoundTrip(t *testing.T) {
	for _, r := range []msgRef{
		{Account: 1, Folder: "INBOX", UIDValidity: 1, UID: 1},
		{Account: 1 << 40, Folder: "INBOX/wörk/ofﬁce:x", UIDValidity: 1<<32 - 1, UID: 1<<32 - 1},
	} {
		got, ok := parseRef(r.String())
		if !ok || got != r {
			t.Errorf("%+v -> %q -> %+v %v", r, r.String(), got, ok)
		}
	}
}

func FuzzParseRef(f *testing.F) {
	f.Add(msgRef{Account: 3, Folder: "INBOX", UIDValidity: 9, UID: 4}.String())
	f.Add("MToxOjE6MTpJTkJPWA")
	f.Fuzz(func(t *testing.T, id string) {
		r, ok := parseRef(id)
		if ok && r.String() != id {
			t.Fatalf("%q parsed to %+v, which is %q", id, r, r.String())
		}
	})
}

func FuzzParseFilter(f *testing.F) {
	f.Add(`from:a subject:"x y" is:seen hello "quoted words" since:2026-01-01`)
	f.Fuzz(func(t *testing.T, q string) {
		parseFilter(url.Values{"q": {q}})
	})
}

func FuzzParseEnvelope(f *testing.F) {
	f.Add([]byte("From: a@b\r\nTo: c@d, e@f\r\nSubject: x\r\n"))
	f.Fuzz(func(t *testing.T, h []byte) {
		e := parseEnvelope(h)
		if e.To == nil || e.Cc == nil {
			t.Fatal("nil lists")
		}
	})
}

func TestReadHeader(t *testing.T) {
	long := "X-Long: " + strings.Repeat("a", 8192-len("X-Long: ")) // the line break falls just past the buffer
	for _, c := range []struct{ msg, want string }{
		{"Subject: a\r\nTo: b\r\n\r\nbody\r\n", "Subject: a\r\nTo: b\r\n"},
		{"Subject: a\n\nbody\n", "Subject: a\n"},
		{"Subject: no body", "Subject: no body"},
		{long + "\r\nSubject: after\r\n\r\nbody", long + "\r\nSubject: after\r\n"},
		{"\r\nbody", ""},
	} {
		h, err := readHeader(strings.NewReader(c.msg))
		if err != nil || string(h) != c.want {
			t.Errorf("readHeader(%.40q...) = %.60q, %v", c.msg, h, err)
		}
	}
}
