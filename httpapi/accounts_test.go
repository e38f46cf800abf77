package httpapi_test

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/immp-mail/immp/config"
	"github.com/immp-mail/immp/immptest"
	"github.com/immp-mail/immp/internal/chaos"
)

func TestAccountsAndFolders(t *testing.T) {
	t.Parallel()
	srv := immptest.Start(t)
	var acct struct {
		ID      int64  `json:"id"`
		Address string `json:"address"`
		Folders []struct {
			Name       string `json:"name"`
			SpecialUse string `json:"special_use"`
			Messages   int    `json:"messages"`
			Unseen     int    `json:"unseen"`
		} `json:"folders"`
	}
	mustCall(t, srv, "POST", "/api/v1/accounts", `{"address": "Jo@Example.com", "password": "pw-123456"}`, 201, &acct)
	if acct.Address != "jo@example.com" || acct.ID == 0 || len(acct.Folders) < 2 || acct.Folders[0].Name != "INBOX" {
		t.Fatalf("created %+v", acct)
	}
	mustCall(t, srv, "POST", "/api/v1/accounts", `{"address": "jo@example.com", "password": "x"}`, 409, nil)
	mustCall(t, srv, "POST", "/api/v1/accounts", `{"address": "jo+x@example.com", "password": "x"}`, 400, nil)
	mustCall(t, srv, "POST", "/api/v1/accounts", `{"address": "not an address", "password": "x"}`, 400, nil)
	mustCall(t, srv, "POST", "/api/v1/accounts", `{"address": "k@example.com"}`, 400, nil)

	srv.Send(t, "a@shop.test", []string{"jo@example.com"}, simple("a@shop.test", "jo@example.com", "hi", "x"))
	var all struct {
		Accounts []struct {
			Address string `json:"address"`
			Folders []struct {
				Name     string `json:"name"`
				Messages int    `json:"messages"`
				Unseen   int    `json:"unseen"`
			} `json:"folders"`
		} `json:"accounts"`
	}
	mustCall(t, srv, "GET", "/api/v1/accounts", "", 200, &all)
	if len(all.Accounts) != 1 || all.Accounts[0].Address != "jo@example.com" || all.Accounts[0].Folders[0].Messages != 1 ||
		all.Accounts[0].Folders[0].Unseen != 1 {
		t.Fatalf("accounts %+v", all)
	}
	var fs struct {
		Folders []struct {
			Name       string `json:"name"`
			SpecialUse string `json:"special_use"`
		} `json:"folders"`
	}
	mustCall(t, srv, "GET", "/api/v1/accounts/jo@example.com/folders", "", 200, &fs)
	var names []string
	for _, f := range fs.Folders {
		names = append(names, f.Name+f.SpecialUse)
	}
	if got := strings.Join(names, ","); !strings.Contains(got, `INBOX`) || !strings.Contains(got, `Sent\Sent`) {
		t.Fatalf("folders %s", got)
	}
	mustCall(t, srv, "GET", "/api/v1/accounts/zz@example.com/folders", "", 404, nil)
	mustCall(t, srv, "DELETE", "/api/v1/accounts/jo@example.com", "", 204, nil)
	mustCall(t, srv, "DELETE", "/api/v1/accounts/jo@example.com", "", 404, nil)
	mustCall(t, srv, "GET", "/api/v1/messages?to=jo@", "", 200, nil)
}

// TestCaptureSubmission: authenticated submission to other domains is
// stored for the recipients (not relayed, not refused), and listed.
func TestCaptureSubmission(t *testing.T) {
	t.Parallel()
	srv := immptest.Start(t)
	srv.CreateAccount(t, "app@localhost", "app-password")
	msg := "From: app@localhost\r\nTo: user@customer.test\r\nCc: boss@other.test\r\nSubject: Receipt\r\n\r\nThanks\r\n"
	if err := submit(srv.Submission, "app@localhost", "app-password", "app@localhost",
		[]string{"user@customer.test", "boss@other.test", "hidden@bcc.test"}, msg); err != nil {
		t.Fatal(err)
	}
	for _, to := range []string{"user@customer.test", "boss@other.test", "hidden@bcc.test"} {
		m := srv.WaitFor(t, immptest.Query{Account: to, Subject: "Receipt"})
		if m.From != "app@localhost" || m.Folder != "INBOX" {
			t.Fatalf("%s: %+v", to, m)
		}
	}
	var l list
	mustCall(t, srv, "GET", "/api/v1/messages?subject=receipt", "", 200, &l)
	if l.Total != 3 {
		t.Fatalf("captured copies: %d", l.Total)
	}
}

// TestNoCapture: without capture, mail to other domains is refused as
// before (relay denied) and submission to them too.
func TestNoCapture(t *testing.T) {
	t.Parallel()
	srv := immptest.Start(t, immptest.Options{NoCapture: true})
	err := smtpTxn(srv.SMTP, "a@shop.test", []string{"x@elsewhere.test"}, simple("a@shop.test", "x@elsewhere.test", "s", "x"))
	if err == nil || !strings.HasPrefix(err.Error(), "5") {
		t.Fatalf("relay without capture: %v", err)
	}
	srv.CreateAccount(t, "app@localhost", "app-password")
	err = submit(srv.Submission, "app@localhost", "app-password", "app@localhost", []string{"x@elsewhere.test"},
		"From: app@localhost\r\nSubject: s\r\n\r\nx\r\n")
	if err == nil || !strings.HasPrefix(err.Error(), "5") {
		t.Fatalf("submission to another domain without capture: %v", err)
	}
}

// TestAccess: outside the test-bed profile the API is off unless a token
// file is set; with one, every request needs the bearer token, and
// account and chaos changes stay test-bed only.
func TestAccess(t *testing.T) {
	t.Parallel()
	off := immptest.Start(t, immptest.Options{Configure: func(c *config.Config) { c.Testbed.Enabled = false }})
	st, body := call(t, off, "GET", "/api/v1/messages", "", nil)
	if st != 404 || !strings.Contains(body, "api_token_file") || !strings.Contains(body, "testbed") {
		t.Fatalf("off: %d %s", st, body)
	}
	tokFile := filepath.Join(t.TempDir(), "token")
	const tok = "s3cret-token-0123456789"
	os.WriteFile(tokFile, []byte(tok+"\n"), 0o600)
	prod := immptest.Start(t, immptest.Options{Configure: func(c *config.Config) {
		c.Testbed.Enabled = false
		c.HTTP.APITokenFile = tokFile
	}})
	for _, h := range []string{"", "Bearer wrong-token-0123456789", "Basic " + tok, tok} {
		req, _ := http.NewRequest("GET", prod.URL+"/api/v1/messages", nil)
		if h != "" {
			req.Header.Set("Authorization", h)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 401 || !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer") {
			t.Fatalf("Authorization %q: %d", h, resp.StatusCode)
		}
	}
	do := func(method, path, body string) int {
		req, _ := http.NewRequest(method, prod.URL+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if st := do("GET", "/api/v1/messages", ""); st != 200 {
		t.Fatalf("with token: %d", st)
	}
	if st := do("POST", "/api/v1/accounts", `{"address": "a@localhost", "password": "x"}`); st != 403 {
		t.Fatalf("create account outside the test bed: %d", st)
	}
	if st := do("POST", "/api/v1/chaos", `{"stage": "rcpt", "code": 451}`); st != 403 {
		t.Fatalf("chaos outside the test bed: %d", st)
	}
	if st := do("GET", "/api/v1/chaos", ""); st != 200 {
		t.Fatalf("list chaos: %d", st)
	}
}

// TestChaosFromConfig: [[testbed.chaos]] rules act from the start and
// are listed like the API's.
func TestChaosFromConfig(t *testing.T) {
	t.Parallel()
	srv := immptest.Start(t, immptest.Options{Configure: func(c *config.Config) {
		c.Testbed.Chaos = []chaos.Rule{{Stage: chaos.Data, Code: 452, Enhanced: "4.3.1", Text: "disk full", Match: "*@full.test", Times: 1}}
	}})
	err := smtpTxn(srv.SMTP, "a@shop.test", []string{"x@full.test"}, simple("a@shop.test", "x@full.test", "s", "x"))
	if err == nil || !strings.HasPrefix(err.Error(), "452") || !strings.Contains(err.Error(), "4.3.1 disk full") {
		t.Fatalf("first: %v", err)
	}
	if err := smtpTxn(srv.SMTP, "a@shop.test", []string{"x@full.test"}, simple("a@shop.test", "x@full.test", "s", "x")); err != nil {
		t.Fatalf("second: %v", err)
	}
	body := mustCall(t, srv, "GET", "/api/v1/chaos", "", 200, nil)
	if !strings.Contains(body, `"fired":1`) || !strings.Contains(body, `"left":0`) {
		t.Fatalf("rules %s", body)
	}
}

// TestCrossSite: a page of another site cannot drive the API: bodies
// that a form or a simple fetch can send are refused, and so is anything
// the browser marks cross-site.
func TestCrossSite(t *testing.T) {
	t.Parallel()
	srv := immptest.Start(t)
	for _, ct := range []string{"text/plain", "application/x-www-form-urlencoded", ""} {
		req, _ := http.NewRequest("POST", srv.URL+"/api/v1/chaos", strings.NewReader(`{"stage": "connect", "code": 421}`))
		if ct != "" {
			req.Header.Set("Content-Type", ct)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnsupportedMediaType {
			t.Fatalf("POST as %q: %d", ct, resp.StatusCode)
		}
	}
	for site, want := range map[string]int{"cross-site": 403, "same-origin": 200, "none": 200} {
		req, _ := http.NewRequest("GET", srv.URL+"/api/v1/messages", nil)
		req.Header.Set("Sec-Fetch-Site", site)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Fatalf("Sec-Fetch-Site %s: %d, want %d", site, resp.StatusCode, want)
		}
	}
	var rules struct{ Rules []any }
	mustCall(t, srv, "GET", "/api/v1/chaos", "", 200, &rules)
	if len(rules.Rules) != 0 {
		t.Fatalf("a refused request added rules: %v", rules)
	}
}
