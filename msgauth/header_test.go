package msgauth

import (
	"bytes"
	"strings"
	"testing"

	"github.com/emersion/go-msgauth/authres"
)

func TestAuthservIDOf(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"mx.example.org; spf=pass", "mx.example.org"},
		{" mx.example.org 1 ; none", "mx.example.org"},
		{"(comment) mx.example.org (x;y); dkim=pass", "mx.example.org"},
		{`"mx.example.org"; none`, "mx.example.org"},
		{"mx.example.org", "mx.example.org"},
		{"; none", ""},
	} {
		if got := authservIDOf(tc.in); got != tc.want {
			t.Errorf("authservIDOf(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestStripOwnResults(t *testing.T) {
	hdr := "Received: from x\r\n\tby y\r\n" +
		"Authentication-Results: MX.Example.ORG;\r\n\tdkim=pass header.d=bank.test\r\n" +
		"authentication-results : mx.example.org; spf=pass\r\n" +
		"Authentication-Results: mx.example.org.evil.test; spf=pass\r\n" +
		"Subject: hi\r\n"
	got, n := stripOwnResults([]byte(hdr), "mx.example.org")
	want := "Received: from x\r\n\tby y\r\nAuthentication-Results: mx.example.org.evil.test; spf=pass\r\nSubject: hi\r\n"
	if string(got) != want || n != 2 {
		t.Errorf("got %d removed:\n%q\nwant\n%q", n, got, want)
	}
}

func TestSingleFromDomain(t *testing.T) {
	for _, tc := range []struct{ hdr, want string }{
		{"From: A <a@Example.ORG>\r\n", "example.org"},
		{"From: a@x.test, b@x.test\r\n", "x.test"},
		{"From: a@x.test, b@y.test\r\n", ""},
		{"From: a@x.test\r\nFrom: b@x.test\r\n", ""},
		{"Subject: none\r\n", ""},
		{"From: =?utf-8?q?J=C3=B6rg?= <j@x.test>\r\n", "x.test"},
		{"From: not an address\r\n", ""},
	} {
		if got := singleFromDomain([]byte(tc.hdr)); got != tc.want {
			t.Errorf("%q: %q, want %q", tc.hdr, got, tc.want)
		}
	}
}

// TestFormatResultsParses: the field is RFC 8601 syntax as go-msgauth's
// parser reads it, whatever goes into properties and reasons, and
// nothing can end the field early (CR, LF).
func TestFormatResultsParses(t *testing.T) {
	f := formatResults("mx.example.org", []result{
		{method: "spf", value: "pass", props: [][2]string{{"smtp.mailfrom", `"odd local"@x.test`}}},
		{method: "dkim", value: "fail", reason: "bad\r\nInjected: yes \"q\"", props: [][2]string{{"header.d", "x.test"}, {"header.b", "ab/+cd=="}}},
		{method: "dmarc", value: "none", props: [][2]string{{"header.from", "x.test"}}},
	})
	if strings.Count(f, "\r\n") != 4 || strings.Contains(f, "\r\nInjected") {
		t.Fatalf("field lines: %q", f)
	}
	v := strings.ReplaceAll(strings.TrimPrefix(strings.TrimSuffix(f, "\r\n"), "Authentication-Results: "), "\r\n\t", " ")
	id, rs, err := authres.Parse(v)
	if err != nil || id != "mx.example.org" || len(rs) != 3 {
		t.Fatalf("parse %q: %v %q %d", v, err, id, len(rs))
	}
	if d, ok := rs[1].(*authres.DKIMResult); !ok || d.Value != authres.ResultFail || d.Domain != "x.test" {
		t.Errorf("dkim result %#v", rs[1])
	}
	if formatResults("mx.example.org", nil) != "Authentication-Results: mx.example.org; none\r\n" {
		t.Error("no-result form")
	}
}

// FuzzHeaderFields: splitting a header into fields loses nothing, and
// removing our results keeps every other field as it was.
func FuzzHeaderFields(f *testing.F) {
	f.Add([]byte("From: a@b\r\nAuthentication-Results: mx; none\r\n\tx\r\nSubject: s\r\n"))
	f.Add([]byte(" leading\r\nX:y\nZ : w\r\n"))
	f.Add([]byte("Authentication-Results: (c (d)) \"mx\" ; spf=pass\r\n"))
	f.Fuzz(func(t *testing.T, hdr []byte) {
		var all []byte
		for _, fl := range fields(hdr) {
			all = append(all, fl.raw...)
		}
		if !bytes.Equal(all, hdr) {
			t.Fatalf("fields lose octets: %q", hdr)
		}
		out, n := stripOwnResults(hdr, "mx")
		if n == 0 && !bytes.Equal(out, hdr) {
			t.Fatal("nothing removed yet changed")
		}
		for _, fl := range fields(out) {
			if isOwnResults(fl, "mx") {
				t.Fatalf("our field left in %q", out)
			}
		}
		_ = singleFromDomain(hdr)
		_ = dkimSignatures(hdr, 3)
	})
}
