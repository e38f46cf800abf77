package webui

import (
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
)

func get(t *testing.T, h http.Handler, method, path string, hdr map[string]string) *http.Response {
	t.Helper()
	req := httptest.NewRequest(method, path, nil)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Result()
}

func TestServesAssets(t *testing.T) {
	h := New()
	for _, tc := range []struct {
		path, ctype, contains string
	}{
		{"/", "text/html; charset=utf-8", `<script src="app.js" defer></script>`},
		{"/app.js", "text/javascript; charset=utf-8", "api/v1/events"},
		{"/sanitize.js", "text/javascript; charset=utf-8", "immpSanitize"},
		{"/app.css", "text/css; charset=utf-8", "max-width: 700px"},
		{"/favicon.svg", "image/svg+xml", "<svg"},
	} {
		resp := get(t, h, "GET", tc.path, nil)
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			t.Errorf("GET %s: %d", tc.path, resp.StatusCode)
			continue
		}
		if got := resp.Header.Get("Content-Type"); got != tc.ctype {
			t.Errorf("GET %s: Content-Type %q, want %q", tc.path, got, tc.ctype)
		}
		if !strings.Contains(string(body), tc.contains) {
			t.Errorf("GET %s: body lacks %q", tc.path, tc.contains)
		}
		if resp.Header.Get("ETag") == "" || resp.Header.Get("Cache-Control") != "no-cache" {
			t.Errorf("GET %s: no validator (ETag %q, Cache-Control %q)", tc.path, resp.Header.Get("ETag"), resp.Header.Get("Cache-Control"))
		}
	}
}

func TestOnlyEmbeddedFiles(t *testing.T) {
	h := New()
	for _, p := range []string{"/index.html", "/assets/app.js", "/nope", "/../webui.go", "/app.js/", "/api/v1/messages"} {
		if resp := get(t, h, "GET", p, nil); resp.StatusCode != 404 {
			t.Errorf("GET %s: %d, want 404", p, resp.StatusCode)
		}
	}
	for _, m := range []string{"POST", "DELETE", "PUT"} {
		resp := get(t, h, m, "/", nil)
		if resp.StatusCode != 405 || resp.Header.Get("Allow") != "GET, HEAD" {
			t.Errorf("%s /: %d Allow %q, want 405 GET, HEAD", m, resp.StatusCode, resp.Header.Get("Allow"))
		}
	}
	resp := get(t, h, "HEAD", "/app.css", nil)
	if b, _ := io.ReadAll(resp.Body); resp.StatusCode != 200 || len(b) != 0 {
		t.Errorf("HEAD /app.css: %d with %d body bytes", resp.StatusCode, len(b))
	}
}

// Every answer, including errors, carries the policy and the hardening
// headers.
func TestPolicyOnEveryAnswer(t *testing.T) {
	h := New()
	for _, tc := range []struct{ method, path string }{
		{"GET", "/"}, {"GET", "/app.js"}, {"GET", "/missing"}, {"POST", "/"}, {"HEAD", "/"},
	} {
		resp := get(t, h, tc.method, tc.path, nil)
		if got := resp.Header.Get("Content-Security-Policy"); got != PolicyHeader {
			t.Errorf("%s %s: CSP %q", tc.method, tc.path, got)
		}
		if resp.Header.Get("X-Content-Type-Options") != "nosniff" || resp.Header.Get("Referrer-Policy") != "no-referrer" {
			t.Errorf("%s %s: hardening headers missing: %v", tc.method, tc.path, resp.Header)
		}
	}
}

func TestRevalidation(t *testing.T) {
	h := New()
	etag := get(t, h, "GET", "/app.js", nil).Header.Get("ETag")
	if resp := get(t, h, "GET", "/app.js", map[string]string{"If-None-Match": etag}); resp.StatusCode != 304 {
		t.Errorf("If-None-Match current ETag: %d, want 304", resp.StatusCode)
	}
	if resp := get(t, h, "GET", "/app.js", map[string]string{"If-None-Match": `"old"`}); resp.StatusCode != 200 {
		t.Errorf("If-None-Match old ETag: %d, want 200", resp.StatusCode)
	}
	if get(t, h, "GET", "/app.css", nil).Header.Get("ETag") == etag {
		t.Error("two files share one ETag")
	}
}

// directives splits a policy into directive -> sources.
func directives(p string) map[string][]string {
	m := map[string][]string{}
	for _, d := range strings.Split(p, ";") {
		f := strings.Fields(d)
		if len(f) > 0 {
			m[f[0]] = f[1:]
		}
	}
	return m
}

// The page's policy: script only from the page's origin, nothing that
// would let injected markup run or frame the page.
func TestPolicyIsStrict(t *testing.T) {
	d := directives(PolicyHeader)
	want := map[string]string{
		"default-src": "'none'", "script-src": "'self'", "connect-src": "'self'",
		"object-src": "'none'", "base-uri": "'none'", "form-action": "'none'",
		"frame-ancestors": "'none'", "frame-src": "'none'",
	}
	for k, v := range want {
		if got := strings.Join(d[k], " "); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	if strings.Contains(PolicyHeader, "unsafe-eval") {
		t.Error("policy allows eval")
	}
}

// readAssets returns every embedded file's text by name.
func readAssets(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := fs.WalkDir(assets, "assets", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := assets.ReadFile(p)
		out[p] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// Nothing is fetched from outside the origin: the only absolute URLs in the
// assets are XML namespace names, which are identifiers, not loads.
func TestNoExternalReferences(t *testing.T) {
	namespaces := map[string]bool{"http://www.w3.org/1999/xhtml": true, "http://www.w3.org/2000/svg": true}
	abs := regexp.MustCompile(`(?i)\b(?:https?:)?//[a-z0-9.-]+\.[a-z]{2,}[^\s"'<>)]*`)
	for name, text := range readAssets(t) {
		for _, m := range abs.FindAllString(text, -1) {
			if !namespaces[m] {
				t.Errorf("%s refers to %q", name, m)
			}
		}
		if !strings.HasSuffix(name, ".js") && regexp.MustCompile(`(?i)@import|<script[^>]*src=["']?(?:https?:)?//`).MatchString(text) {
			t.Errorf("%s imports from elsewhere", name)
		}
	}
}

// The page has no inline script, style or event handler, so the policy
// needs no 'unsafe-inline' for scripts, and every file it refers to is
// served.
func TestIndexSelfContained(t *testing.T) {
	h := New()
	index := readAssets(t)["assets/index.html"]
	if regexp.MustCompile(`(?i)<script(?:\s[^>]*)?>\s*[^<\s]`).MatchString(index) {
		t.Error("index.html has an inline script")
	}
	if regexp.MustCompile(`(?i)\s(?:on[a-z]+|style)\s*=`).MatchString(index) {
		t.Error("index.html has an inline event handler or style attribute")
	}
	refs := regexp.MustCompile(`(?:src|href)="([^"#]+)"`).FindAllStringSubmatch(index, -1)
	if len(refs) < 4 {
		t.Fatalf("found only %d references in index.html", len(refs))
	}
	for _, r := range refs {
		if resp := get(t, h, "GET", "/"+r[1], nil); resp.StatusCode != 200 {
			t.Errorf("index.html refers to %s, which answers %d", r[1], resp.StatusCode)
		}
	}
}
