package integration

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// postfix is a private Postfix instance: its own config and queue
// directories under a temporary directory, smtpd on a loopback high port,
// and everything it receives relayed to one next hop.
type postfix struct {
	t    testing.TB
	dir  string
	addr string
}

// startPostfix runs Postfix with relayhost set to relayTo (host:port).
func startPostfix(t testing.TB, relayTo string) *postfix {
	t.Helper()
	bin := needTool(t, "postfix")
	if _, err := os.Stat("/usr/lib/postfix/sbin/master"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("postfix master is not installed")
		}
		t.Skip("postfix master is not installed")
	}
	// Postfix's daemons run as the postfix user and must reach their
	// directories, so the tree lives outside the 0700 test temp dir.
	dir, err := os.MkdirTemp("", "immp-postfix-")
	if err != nil {
		t.Fatal(err)
	}
	p := &postfix{t: t, dir: dir, addr: freePort(t)}
	for _, sub := range []string{"conf", "queue", "data"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	run(t, "", "chown", "postfix", filepath.Join(dir, "data"))
	writeMasterCF(t, filepath.Join(dir, "conf", "master.cf"), p.addr)
	write(t, filepath.Join(dir, "conf", "main.cf"), fmt.Sprintf(`compatibility_level = 3.6
queue_directory = %[1]s/queue
data_directory = %[1]s/data
mail_owner = postfix
setgid_group = postdrop
myhostname = relay.test
mydomain = relay.test
myorigin = relay.test
mydestination =
inet_interfaces = loopback-only
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
relay_domains = example.org
relayhost = [%[2]s]:%[3]s
smtp_tls_security_level = none
smtp_dns_support_level = disabled
alias_maps =
alias_database =
maillog_file_prefixes = %[1]s
maillog_file = %[1]s/postfix.log
`, dir, hostOf(relayTo), portOf(relayTo)))
	run(t, "", bin, "-c", filepath.Join(dir, "conf"), "post-install", "create-missing")
	run(t, "", bin, "-c", filepath.Join(dir, "conf"), "start")
	t.Cleanup(func() {
		exec.Command(bin, "-c", filepath.Join(dir, "conf"), "stop").Run()
		os.RemoveAll(dir)
	})
	deadline := time.Now().Add(10 * time.Second)
	for !canConnect(p.addr) {
		if time.Now().After(deadline) {
			t.Fatalf("postfix smtpd not listening on %s; log:\n%s", p.addr, p.log())
		}
		time.Sleep(50 * time.Millisecond)
	}
	return p
}

func (p *postfix) log() string {
	b, _ := os.ReadFile(filepath.Join(p.dir, "postfix.log"))
	return string(b)
}

func write(t testing.TB, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func hostOf(addr string) string { h, _, _ := strings.Cut(addr, ":"); return h }
func portOf(addr string) string { _, p, _ := strings.Cut(addr, ":"); return p }

// TestPostfixRelaysIntoSubinboxes has a real Postfix relay mail to immp, as
// an MX behind a relay would receive it, and checks where it was filed.
func TestPostfixRelaysIntoSubinboxes(t *testing.T) {
	t.Parallel()
	s := startServer(t, serverOptions{})
	s.addUser(t, "carol@example.org", "pw-carol")
	out, errOut, code := s.immp(t, "", []string{"IMMP_PASSWORD=pw-carol"}, "subinbox", "create",
		"-immp", s.addrs["immp"], "-imap", s.addrs["imap"], "-user", "carol@example.org", "lists")
	if code != 0 {
		t.Fatalf("subinbox create: exit %d\n%s%s", code, out, errOut)
	}
	p := startPostfix(t, s.addrs["smtp"])
	swaks(t, p.addr, "sender@relay.test", "lists/carol@example.org", "via postfix to lists")
	swaks(t, p.addr, "sender@relay.test", "carol@example.org", "via postfix to inbox")

	deadline := time.Now().Add(30 * time.Second)
	for {
		nLists, _ := imapSubjects(t, s.addrs["imap"], "carol@example.org", "pw-carol", "INBOX/lists")
		nInbox, _ := imapSubjects(t, s.addrs["imap"], "carol@example.org", "pw-carol", "INBOX")
		if nLists == 1 && nInbox == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 30s INBOX/lists has %d, INBOX %d (want 1 and 1); postfix log:\n%s\nimmp log:\n%s", nLists, nInbox, p.log(), s.logs())
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// writeMasterCF writes Debian's master.cf with the public smtpd service
// on port 25 replaced by one on addr.
func writeMasterCF(t testing.TB, path, addr string) {
	t.Helper()
	master, err := os.ReadFile("/etc/postfix/master.cf")
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, line := range strings.Split(string(master), "\n") {
		if strings.HasPrefix(line, "smtp ") && strings.Contains(line, "inet") {
			line = addr + " inet n - n - - smtpd"
		}
		lines = append(lines, line)
	}
	write(t, path, strings.Join(lines, "\n"))
}
