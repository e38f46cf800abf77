package integration

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestAdminPageCurl drives the admin page of the running binary with curl
// (a cookie jar, the form token scraped from the page, as a browser
// would) and checks the account it adds with Python's imaplib.
func TestAdminPageCurl(t *testing.T) {
	curl := needTool(t, "curl")
	needTool(t, "python3")
	dir := t.TempDir()
	pwFile := filepath.Join(dir, "admin.pw")
	if err := os.WriteFile(pwFile, []byte("a long admin password\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s := startServer(t, serverOptions{tables: map[string]string{"http": fmt.Sprintf("admin_password_file = %q\n", pwFile)}})
	base := "http://" + s.addrs["http"] + "/admin/"
	jar := filepath.Join(dir, "cookies")
	// code runs curl and returns the HTTP status and the body.
	code := func(args ...string) (string, string) {
		out := runAllowFail(t, curl, append([]string{"-sS", "-L", "--max-time", "10", "-b", jar, "-c", jar,
			"-w", "\n%{http_code}"}, args...)...)
		i := strings.LastIndexByte(out, '\n')
		return strings.TrimSpace(out[i+1:]), out[:max(i, 0)]
	}

	if c, _ := code("--data-urlencode", "address=alice@example.org", "--data-urlencode", "password=pw-1", base+"accounts"); c != "403" {
		t.Fatalf("add before login: %s", c)
	}
	if c, _ := code("--data-urlencode", "password=a long admin password", base+"login"); c != "200" {
		t.Fatalf("login: %s", c)
	}
	_, page := code(base)
	m := regexp.MustCompile(`name="csrf" value="([0-9a-f]+)"`).FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no form token:\n%s", page)
	}
	if c, _ := code("--data-urlencode", "address=alice@example.org", "--data-urlencode", "password=pw-1", base+"accounts"); c != "403" {
		t.Fatalf("add without the form token: %s", c)
	}
	c, body := code("--data-urlencode", "csrf="+m[1], "--data-urlencode", "address=alice@example.org",
		"--data-urlencode", "password=pw-1", base+"accounts")
	if c != "200" || !strings.Contains(body, "Account alice@example.org added.") {
		t.Fatalf("add: %s\n%s", c, body)
	}
	if n, _ := imapSubjects(t, s.addrs["imap"], "alice@example.org", "pw-1", "INBOX"); n != 0 {
		t.Fatalf("new INBOX has %d messages", n)
	}
	if c, _ := code("--data-urlencode", "csrf="+m[1], "--data-urlencode", "address=alice@example.org",
		"--data-urlencode", "confirm=alice@example.org", base+"accounts/delete"); c != "200" {
		t.Fatalf("delete: %s", c)
	}
	if out, _, _ := s.immp(t, "", nil, "user", "list", "-config", s.config); strings.Contains(out, "alice@") {
		t.Fatalf("immp user list still shows the account:\n%s", out)
	}
}
