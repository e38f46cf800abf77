package admin

import (
	"net/http"
	"testing"

	"github.com/immp-mail/immp/maildir"
)

func TestParseQuota(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		in   string
		want int64
		ok   bool
	}{
		{"1GiB", 1 << 30, true}, {"500MB", 500e6, true}, {"0", 0, true}, {"unlimited", 0, true},
		{"Default", maildir.QuotaDefault, true}, {"lots", 0, false}, {"-1", 0, false},
	} {
		got, err := ParseQuota(c.in)
		if (err == nil) != c.ok || (c.ok && got != c.want) {
			t.Errorf("%q: %d %v", c.in, got, err)
		}
		if err != nil && status(err) != http.StatusBadRequest {
			t.Errorf("%q: status %d", c.in, status(err))
		}
	}
}

func TestSameOrigin(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		origin, site string
		want         bool
	}{
		{"", "", true}, {"http://admin.test:8080", "", true}, {"http://admin.test:8080", "same-origin", true},
		{"http://evil.test", "", false}, {"", "cross-site", false}, {"", "same-site", false}, {"null", "", false},
	} {
		r, _ := http.NewRequest("POST", "http://admin.test:8080/admin/accounts", nil)
		if c.origin != "" {
			r.Header.Set("Origin", c.origin)
		}
		if c.site != "" {
			r.Header.Set("Sec-Fetch-Site", c.site)
		}
		if got := sameOrigin(r); got != c.want {
			t.Errorf("Origin %q Sec-Fetch-Site %q: %v", c.origin, c.site, got)
		}
	}
}
