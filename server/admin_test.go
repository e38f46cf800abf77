package server

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/immp-mail/immp/config"
)

// imapLogin says whether LOGIN succeeds over IMAP; with msg, it also
// appends msg to INBOX first.
func imapLogin(t *testing.T, addr, user, pass, msg string) bool {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(20 * time.Second))
	r := bufio.NewReader(c)
	line := func() string {
		l, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("IMAP: %v", err)
		}
		return l
	}
	line() // greeting
	fmt.Fprintf(c, "a LOGIN %q %q\r\n", user, pass)
	for {
		l := line()
		if strings.HasPrefix(l, "a ") {
			if !strings.HasPrefix(l, "a OK") {
				return false
			}
			break
		}
	}
	if msg != "" {
		fmt.Fprintf(c, "b APPEND INBOX {%d}\r\n", len(msg))
		if l := line(); !strings.HasPrefix(l, "+") {
			t.Fatalf("APPEND: %q", l)
		}
		fmt.Fprintf(c, "%s\r\n", msg)
		for l := line(); !strings.HasPrefix(l, "b "); l = line() {
		}
	}
	fmt.Fprintf(c, "z LOGOUT\r\n")
	return true
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([0-9a-f]{64})"`)

// TestAdminPage drives the admin page over real HTTP as a browser would,
// and checks each change over IMAP.
func TestAdminPage(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	pwFile := filepath.Join(dir, "admin.pw")
	if err := os.WriteFile(pwFile, []byte("correct horse battery\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	d := startTestServer(t, fmt.Sprintf(`hostname = "mx.test"
data_dir = %q
domains = ["example.org"]
[imap]
listen = "127.0.0.1:0"
[http]
listen = "127.0.0.1:0"
admin_password_file = %q
`, filepath.Join(dir, "data"), pwFile), nil)
	base := "http://" + d.Addr("http.listen")
	imapAddr := d.Addr("imap.listen")
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar, Timeout: 20 * time.Second}
	do := func(method, path string, form url.Values, header ...string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(method, base+path, strings.NewReader(form.Encode()))
		if method == "POST" {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if method == "GET" && resp.StatusCode == 200 && !strings.Contains(resp.Header.Get("Content-Security-Policy"), "default-src 'none'") {
			t.Errorf("%s: no strict CSP: %q", path, resp.Header.Get("Content-Security-Policy"))
		}
		return resp.StatusCode, string(b)
	}

	// Not logged in: the login form, and no change possible.
	if code, body := do("GET", "/admin/", nil); code != 200 || !strings.Contains(body, `name="password"`) || strings.Contains(body, "Add an account") {
		t.Fatalf("login form: %d\n%s", code, body)
	}
	add := url.Values{"address": {"alice@example.org"}, "password": {"first-pass"}, "quota": {"1MiB"}}
	if code, _ := do("POST", "/admin/accounts", add); code != 403 {
		t.Fatalf("add without a session: %d", code)
	}
	if code, _ := do("POST", "/admin/login", url.Values{"password": {"wrong"}}); code != 401 {
		t.Fatalf("wrong password: %d", code)
	}
	if code, body := do("POST", "/admin/login", url.Values{"password": {"correct horse battery"}}); code != 200 || !strings.Contains(body, "Add an account") {
		t.Fatalf("login: %d\n%s", code, body)
	}
	_, body := do("GET", "/admin/", nil)
	m := csrfRE.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no CSRF token in the page:\n%s", body)
	}
	csrf := m[1]

	// CSRF: a session alone is not enough.
	if code, _ := do("POST", "/admin/accounts", add); code != 403 {
		t.Fatalf("add without the form token: %d", code)
	}
	add.Set("csrf", strings.Repeat("0", 64))
	if code, _ := do("POST", "/admin/accounts", add); code != 403 {
		t.Fatalf("add with a wrong form token: %d", code)
	}
	add.Set("csrf", csrf)
	if code, _ := do("POST", "/admin/accounts", add, "Origin", "http://evil.test"); code != 403 {
		t.Fatalf("add from another origin: %d", code)
	}
	if imapLogin(t, imapAddr, "alice@example.org", "first-pass", "") {
		t.Fatal("a refused request created the account")
	}

	// Add: the account logs in over IMAP; its use and quota are listed.
	if code, body := do("POST", "/admin/accounts", add, "Origin", base); code != 200 || !strings.Contains(body, "Account alice@example.org added.") {
		t.Fatalf("add: %d\n%s", code, body)
	}
	msg := "Subject: hello\r\n\r\n" + strings.Repeat("x", 3000) + "\r\n"
	if !imapLogin(t, imapAddr, "alice@example.org", "first-pass", msg) {
		t.Fatal("the new account cannot log in over IMAP")
	}
	_, body = do("GET", "/admin/", nil)
	if !regexp.MustCompile(`<td>alice@example.org</td>\s*<td class="num">[23]\.\dKiB</td>\s*<td>1MiB \(own\)</td>`).MatchString(body) {
		t.Errorf("account row without its use and quota:\n%s", body)
	}

	// The CLI's rules.
	for _, c := range []struct {
		form url.Values
		code int
		says string
	}{
		{url.Values{"address": {"alice@example.org"}, "password": {"x"}}, 409, "already exists"},
		{url.Values{"address": {"bob+x@example.org"}, "password": {"x"}}, 400, "plus addressing"},
		{url.Values{"address": {"carol@elsewhere.test"}, "password": {"x"}}, 400, "not one of the configured domains"},
		{url.Values{"address": {"dave@example.org"}, "password": {""}}, 400, "empty password"},
		{url.Values{"address": {"erin@example.org"}, "password": {"x"}, "quota": {"lots"}}, 400, "quota"},
		{url.Values{"address": {"not an address"}, "password": {"x"}}, 400, "invalid"},
	} {
		c.form.Set("csrf", csrf)
		code, body := do("POST", "/admin/accounts", c.form)
		if code != c.code || !strings.Contains(body, c.says) {
			t.Errorf("add %v: %d, want %d saying %q", c.form, code, c.code, c.says)
		}
	}

	// Reset the password.
	if code, _ := do("POST", "/admin/accounts/password", url.Values{"csrf": {csrf}, "address": {"alice@example.org"}, "password": {"second-pass"}}); code != 200 {
		t.Fatalf("password: %d", code)
	}
	if imapLogin(t, imapAddr, "alice@example.org", "first-pass", "") || !imapLogin(t, imapAddr, "alice@example.org", "second-pass", "") {
		t.Fatal("after the reset, the old password must fail and the new one work")
	}
	if code, _ := do("POST", "/admin/accounts/password", url.Values{"csrf": {csrf}, "address": {"nobody@example.org"}, "password": {"p"}}); code != 404 {
		t.Errorf("password of a missing account: %d", code)
	}

	// Delete needs the address typed again.
	del := url.Values{"csrf": {csrf}, "address": {"alice@example.org"}, "confirm": {"alice@example.com"}}
	if code, _ := do("POST", "/admin/accounts/delete", del); code != 400 || !imapLogin(t, imapAddr, "alice@example.org", "second-pass", "") {
		t.Fatalf("delete with a wrong confirmation: %d", code)
	}
	del.Set("confirm", "Alice@Example.org")
	if code, body := do("POST", "/admin/accounts/delete", del); code != 200 || strings.Contains(body, "<td>alice@example.org</td>") {
		t.Fatalf("delete: %d\n%s", code, body)
	}
	if imapLogin(t, imapAddr, "alice@example.org", "second-pass", "") {
		t.Fatal("a deleted account still logs in")
	}

	// Logout ends the session: its token is no use any more.
	do("POST", "/admin/logout", url.Values{"csrf": {csrf}})
	if code, _ := do("POST", "/admin/accounts", add); code != 403 {
		t.Fatalf("add after logout: %d", code)
	}
}

// TestAdminOffByDefault: without admin_password_file there is no page.
func TestAdminOffByDefault(t *testing.T) {
	t.Parallel()
	d := startTestServer(t, fmt.Sprintf("data_dir = %q\ndomains = [\"example.org\"]\n[http]\nlisten = \"127.0.0.1:0\"\n", t.TempDir()), nil)
	for _, p := range []string{"/admin/", "/admin/login"} {
		resp, err := http.Post("http://"+d.Addr("http.listen")+p, "application/x-www-form-urlencoded", strings.NewReader("password=x"))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 404 && resp.StatusCode != 405 {
			t.Errorf("%s: %d without admin_password_file", p, resp.StatusCode)
		}
	}
}

// TestAdminPageShowsQueue: with [outbound] enabled the admin page tells
// the outbound queue's size (admin.Options.Queue wired to the queue).
func TestAdminPageShowsQueue(t *testing.T) {
	t.Parallel()
	pwFile := filepath.Join(t.TempDir(), "admin.pw")
	if err := os.WriteFile(pwFile, []byte("correct horse battery\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	d, _, _ := outboundServer(t, func(c *config.Config) {
		c.HTTP.Listen, c.HTTP.AdminPasswordFile = "127.0.0.1:0", pwFile
	})
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar, Timeout: 20 * time.Second}
	resp, err := client.PostForm("http://"+d.Addr("http.listen")+"/admin/login", url.Values{"password": {"correct horse battery"}})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !regexp.MustCompile(`<p>\d+ message\(s\) waiting for delivery\.</p>`).Match(body) {
		t.Errorf("the admin page does not show the queue:\n%s", body)
	}
}

// TestAdminAcrossListeners: with both http.listen and http.tls_listen the
// admin page is one: a session made over HTTPS is good over HTTP, and a
// password reloaded on SIGHUP holds on both.
func TestAdminAcrossListeners(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	pwFile := filepath.Join(dir, "admin.pw")
	certFile, keyFile := selfSignedFiles(t, dir, "mx.test")
	os.WriteFile(pwFile, []byte("first password\n"), 0o600)
	reload := make(chan struct{}, 1)
	d := startTestServer(t, fmt.Sprintf(`hostname = "mx.test"
data_dir = %q
domains = ["example.org"]
[tls]
cert = %q
key = %q
[http]
listen = "127.0.0.1:0"
tls_listen = "127.0.0.1:0"
admin_password_file = %q
`, filepath.Join(dir, "data"), certFile, keyFile, pwFile), reload)
	bases := []string{"http://" + d.Addr("http.listen"), "https://" + d.Addr("http.tls_listen")}
	client := &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, // the self-signed certificate
	}, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	login := func(base, pw string) (int, []*http.Cookie) {
		t.Helper()
		resp, err := client.PostForm(base+"/admin/login", url.Values{"password": {pw}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusSeeOther { // logged in, sent to the page
			resp.StatusCode = 200
		}
		return resp.StatusCode, resp.Cookies()
	}
	code, cookies := login(bases[1], "first password")
	if code != 200 || len(cookies) == 0 {
		t.Fatalf("login over HTTPS: %d, cookies %v", code, cookies)
	}
	req, _ := http.NewRequest("GET", bases[0]+"/admin/", nil)
	for _, c := range cookies {
		req.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), "Add an account") {
		t.Errorf("the HTTPS session is not good over HTTP:\n%s", body)
	}

	os.WriteFile(pwFile, []byte("second password\n"), 0o600)
	reload <- struct{}{}
	for _, base := range bases {
		deadline := time.Now().Add(10 * time.Second)
		for code, _ := login(base, "second password"); code != 200; code, _ = login(base, "second password") {
			if time.Now().After(deadline) {
				t.Fatalf("%s: the reloaded password is refused (%d)", base, code)
			}
			time.Sleep(50 * time.Millisecond)
		}
		if code, _ := login(base, "first password"); code != 401 {
			t.Errorf("%s: the old password still works (%d)", base, code)
		}
	}
}
