package main

import (
	"slices"
	"strings"
	"testing"
)

// TestGuardCLI drives the spam guard verbs against a running server.
func TestGuardCLI(t *testing.T) {
	t.Parallel()
	d, cfg := startTestDaemon(t, "")
	if _, errOut, code := cli(t, "pw-alice\n", "user", "add", "-config", cfg, "alice@example.org"); code != 0 {
		t.Fatalf("user add: %s", errOut)
	}
	base := []string{"-immp", d.Addr("immp.listen"), "-user", "alice@example.org"}
	g := func(stdin string, verb string, args ...string) (string, string, int) {
		return cli(t, stdin, append(append([]string{"guard", verb}, base...), args...)...)
	}
	steps := []struct {
		verb   string
		args   []string
		code   int
		stdout string
	}{
		{"add-agent", []string{"lists"}, exitOK, ""},
		{"add-agent", []string{"lists"}, exitFail, ""},
		{"agents", nil, exitOK, "alice@example.org\nlists\n"},
		{"agents", []string{"li*"}, exitOK, "lists\n"},
		{"add", []string{"lists", "*@spam.test"}, exitOK, ""},
		{"add", []string{"lists", "bob@spam.test"}, exitOK, ""},
		{"add", []string{"nosuch", "x@y.test"}, exitFail, ""},
		{"entries", []string{"lists"}, exitOK, "*@spam.test\nbob@spam.test\n"},
		{"entries", []string{"lists", "bob*"}, exitOK, "bob@spam.test\n"},
		{"del", []string{"lists", "bob@spam.test"}, exitOK, ""},
		{"del", []string{"lists", "bob@spam.test"}, exitFail, ""},
		{"del-agent", []string{"lists"}, exitOK, ""},
		{"agents", nil, exitOK, "alice@example.org\n"},
	}
	for _, s := range steps {
		out, errOut, code := g("pw-alice\n", s.verb, s.args...)
		if code != s.code || (s.stdout != "" && out != s.stdout) {
			t.Errorf("guard %s %v: exit %d stdout %q stderr %q; want %d %q", s.verb, s.args, code, out, errOut, s.code, s.stdout)
		}
	}
	// A wrong password is a runtime failure, and says so.
	if _, errOut, code := g("wrong\n", "agents"); code != exitFail || !strings.Contains(errOut, "AUTHENTICATIONFAILED") {
		t.Errorf("wrong password: exit %d %s", code, errOut)
	}
	// Over implicit TLS and STARTTLS, with the self-signed certificate.
	for _, flags := range [][]string{
		{"-tls", "-insecure", "-immp", d.Addr("immp.tls_listen")},
		{"-starttls", "-insecure", "-immp", d.Addr("immp.listen")},
	} {
		args := append(append([]string{"guard", "agents"}, flags...), "-user", "alice@example.org")
		if out, errOut, code := cli(t, "pw-alice\n", args...); code != exitOK || out != "alice@example.org\n" {
			t.Errorf("%v: exit %d %q %s", flags, code, out, errOut)
		}
	}
	// Without -insecure the self-signed certificate is refused.
	args := []string{"guard", "agents", "-tls", "-immp", d.Addr("immp.tls_listen"), "-user", "alice@example.org"}
	if _, errOut, code := cli(t, "pw-alice\n", args...); code != exitFail || !strings.Contains(errOut, "certificate") {
		t.Errorf("self-signed accepted without -insecure: exit %d %s", code, errOut)
	}
	// $IMMP_PASSWORD wins over stdin.
	env := map[string]string{"IMMP_PASSWORD": "pw-alice"}
	if out, errOut, code := cliWithEnv(t, env, "wrong\n", append([]string{"guard", "agents"}, base...)...); code != exitOK || out != "alice@example.org\n" {
		t.Errorf("IMMP_PASSWORD: exit %d %q %s", code, out, errOut)
	}
}

// TestSubinboxCLI drives every subinbox verb over IMMP, then the same over
// the IMAP fallback when the IMMP port refuses connections.
func TestSubinboxCLI(t *testing.T) {
	t.Parallel()
	d, cfg := startTestDaemon(t, "")
	if _, errOut, code := cli(t, "pw-carol\n", "user", "add", "-config", cfg, "carol@example.org"); code != 0 {
		t.Fatalf("user add: %s", errOut)
	}
	env := map[string]string{"IMMP_PASSWORD": "pw-carol"}
	sub := func(immpAddr string, verb string, args ...string) (string, string, int) {
		flags := []string{"subinbox", verb, "-immp", immpAddr, "-imap", d.Addr("imap.listen"), "-user", "carol@example.org"}
		return cliWithEnv(t, env, "", append(flags, args...)...)
	}
	immpAddr := d.Addr("immp.listen")
	steps := []struct {
		verb   string
		args   []string
		code   int
		stdout string
	}{
		{"create", []string{"work"}, exitOK, ""},
		{"create", []string{"office/work"}, exitOK, ""},
		{"create", []string{"INBOX/home"}, exitOK, ""},
		{"create", []string{"work"}, exitFail, ""},
		{"create", []string{"x/nothere"}, exitFail, ""},
		{"list", nil, exitOK, "home\nwork\noffice/work\n"},
		{"rename", []string{"home", "house"}, exitOK, ""},
		{"move", []string{"office", "work", ""}, exitOK, ""},
		{"replace", []string{"house", "office"}, exitOK, ""},
		{"delete", []string{"office"}, exitOK, ""},
		{"list", nil, exitOK, "work\n"},
	}
	for _, s := range steps {
		out, errOut, code := sub(immpAddr, s.verb, s.args...)
		if code != s.code || (s.stdout != "" && sortedLines(out) != sortedLines(s.stdout)) {
			t.Errorf("subinbox %s %v: exit %d stdout %q stderr %q; want %d %q", s.verb, s.args, code, out, errOut, s.code, s.stdout)
		}
		if strings.Contains(errOut, "fell back") {
			t.Errorf("subinbox %s fell back to IMAP with IMMP up: %s", s.verb, errOut)
		}
	}

	// IMMP refuses: the same commands go over IMAP, and the CLI says so.
	closed := freeAddr(t)
	out, errOut, code := sub(closed, "create", "lists")
	if code != exitOK || !strings.Contains(errOut, "fell back to IMAP") {
		t.Errorf("fallback create: exit %d %q %q", code, out, errOut)
	}
	out, errOut, code = sub(closed, "list")
	if code != exitOK || sortedLines(out) != sortedLines("work\nlists\n") || !strings.Contains(errOut, "fell back") {
		t.Errorf("fallback list: exit %d %q %q", code, out, errOut)
	}
	// Fallback off: a refused IMMP connection is a runtime failure.
	flags := []string{"subinbox", "list", "-immp", closed, "-imap", "", "-user", "carol@example.org"}
	if _, errOut, code := cliWithEnv(t, env, "", flags...); code != exitFail {
		t.Errorf("no fallback: exit %d %s", code, errOut)
	}
}

func sortedLines(s string) string {
	lines := strings.Fields(s)
	slices.Sort(lines)
	return strings.Join(lines, "\n")
}
