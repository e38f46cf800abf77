package integration

import (
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// startDnsmasqLocal runs dnsmasq (msgauth_test.go) answering for the
// local domains from records alone, and returns its address.
func startDnsmasqLocal(t *testing.T, local []string, records ...string) string {
	t.Helper()
	args := records
	for _, d := range local {
		args = append(args, "--local=/"+d+"/")
	}
	return startDnsmasq(t, args...).addr
}

// postfixMX is a private Postfix receiving mail for example.net into one
// Maildir (virtual(8)), on a loopback port.
type postfixMX struct {
	dir, addr, maildir string
}

func startPostfixMX(t testing.TB) *postfixMX {
	t.Helper()
	bin := needTool(t, "postfix")
	if os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("a private Postfix instance needs root")
		}
		t.Skip("a private Postfix instance needs root")
	}
	dir, err := os.MkdirTemp("", "immp-postfix-mx-")
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(dir, 0o755)
	p := &postfixMX{dir: dir, addr: freePort(t), maildir: filepath.Join(dir, "vmail", "mailbox")}
	for _, sub := range []string{"conf", "queue", "data", "vmail"} {
		os.MkdirAll(filepath.Join(dir, sub), 0o755)
	}
	const nobody = 65534 // virtual(8) will not deliver as root
	os.Chown(filepath.Join(dir, "vmail"), nobody, nobody)
	if u, err := user.Lookup("postfix"); err == nil {
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		os.Chown(filepath.Join(dir, "data"), uid, gid)
	}
	writeMasterCF(t, filepath.Join(dir, "conf", "master.cf"), p.addr)
	write(t, filepath.Join(dir, "conf", "main.cf"), fmt.Sprintf(`compatibility_level = 3.6
queue_directory = %[1]s/queue
data_directory = %[1]s/data
mail_owner = postfix
setgid_group = postdrop
myhostname = mx.example.net
mydestination =
inet_interfaces = loopback-only
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
relay_domains =
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
virtual_mailbox_domains = example.net
virtual_mailbox_base = %[1]s/vmail
virtual_mailbox_maps = static:mailbox/
virtual_uid_maps = static:%[2]d
virtual_gid_maps = static:%[2]d
virtual_minimum_uid = 1
alias_maps =
alias_database =
smtpd_peername_lookup = no
maillog_file_prefixes = %[1]s
maillog_file = %[1]s/postfix.log
`, dir, nobody))
	run(t, "", bin, "-c", filepath.Join(dir, "conf"), "start")
	t.Cleanup(func() {
		exec.Command(bin, "-c", filepath.Join(dir, "conf"), "stop").Run()
		os.RemoveAll(dir)
	})
	deadline := time.Now().Add(15 * time.Second)
	for !canConnect(p.addr) {
		if time.Now().After(deadline) {
			t.Fatalf("postfix smtpd not listening on %s", p.addr)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return p
}

func (p *postfixMX) log() string {
	b, _ := os.ReadFile(filepath.Join(p.dir, "postfix.log"))
	return string(b)
}

// messages reads every message in the Maildir.
func (p *postfixMX) messages() []string {
	var out []string
	for _, sub := range []string{"new", "cur"} {
		ents, _ := os.ReadDir(filepath.Join(p.maildir, sub))
		for _, e := range ents {
			b, err := os.ReadFile(filepath.Join(p.maildir, sub, e.Name()))
			if err == nil {
				out = append(out, string(b))
			}
		}
	}
	return out
}

func outboundTOML(dns, mxPort string) string {
	return fmt.Sprintf("[outbound]\nenabled = true\nhostname = \"out.example.org\"\nresolver = %q\nmx_port = %s\nretry_initial = \"1s\"\n", dns, mxPort)
}

// TestOutboundToPostfix: mail submitted to immp for example.net is
// delivered to the MX that dnsmasq names, a real Postfix, and lands in
// its mailbox; a domain whose MX is down stays queued, is shown by
// "immp queue list|show" and removed by "immp queue delete"; the metrics
// count the delivery.
func TestOutboundToPostfix(t *testing.T) {
	t.Parallel()
	pf := startPostfixMX(t)
	dns := startDnsmasqLocal(t, []string{"example.net", "down.example"},
		"--mx-host=example.net,mx.example.net,10", "--host-record=mx.example.net,127.0.0.1",
		"--mx-host=down.example,mx.down.example,10", "--host-record=mx.down.example,127.0.0.3")
	s := startServer(t, serverOptions{extra: outboundTOML(dns, portOf(pf.addr))})
	s.addUser(t, "alice@example.org", "pw-alice")
	// A DKIM key for the sender's domain, made while the server runs: the
	// queue signs with it (issue: DKIM that python3-dkim verifies).
	if out, errOut, code := s.immp(t, "", nil, "dkim", "keygen", "-config", s.config, "example.org"); code != 0 {
		t.Fatalf("dkim keygen: %d %s %s", code, out, errOut)
	}
	swaks(t, s.addrs["submission"], "alice@example.org", "bob@example.net", "to postfix",
		"--auth", "PLAIN", "--auth-user", "alice@example.org", "--auth-password", "pw-alice",
		"--header", "From: <alice@example.org>")
	deadline := time.Now().Add(30 * time.Second)
	for len(pf.messages()) == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("nothing arrived at postfix; immp log:\n%s\npostfix log:\n%s", s.logs(), pf.log())
		}
		time.Sleep(100 * time.Millisecond)
	}
	m := pf.messages()[0]
	for _, want := range []string{"Subject: to postfix", "Received: from out.example.org", "by mx.test (immp) with ESMTPA", "Delivered-To: bob@example.net"} {
		if !strings.Contains(m, want) {
			t.Errorf("message at postfix lacks %q:\n%s", want, m)
		}
	}
	verifyWithPythonDKIM(t, s, m)
	if !strings.Contains(s.logs(), "relay=mx.example.net[127.0.0.1]:"+portOf(pf.addr)) || !strings.Contains(s.logs(), "status=sent (250 ") {
		t.Errorf("no Postfix-style delivery line:\n%s", s.logs())
	}
	if v := s.metric(t, `immp_outbound_deliveries_total{class="mx",result="sent"}`); v != "1" {
		t.Errorf("sent deliveries metric = %q", v)
	}

	// A destination that does not answer: queued, visible, deletable.
	swaks(t, s.addrs["submission"], "alice@example.org", "carol@down.example", "to nowhere",
		"--auth", "PLAIN", "--auth-user", "alice@example.org", "--auth-password", "pw-alice",
		"--header", "From: <alice@example.org>")
	var id string
	deadline = time.Now().Add(20 * time.Second)
	for {
		out, errOut, code := s.immp(t, "", nil, "queue", "list", "-config", s.config)
		if code != 0 {
			t.Fatalf("queue list: %d %s", code, errOut)
		}
		if strings.Contains(out, "carol@down.example (queued)") && strings.Contains(s.logs(), "status=deferred") {
			id = strings.Fields(strings.Split(out, "\n")[1])[0]
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("queue list:\n%s\nlog:\n%s", out, s.logs())
		}
		time.Sleep(200 * time.Millisecond)
	}
	if v := s.metric(t, "immp_outbound_queue_messages"); v != "1" {
		t.Errorf("queue length metric = %q", v)
	}
	out, _, code := s.immp(t, "", nil, "queue", "show", "-config", s.config, id)
	if code != 0 || !strings.Contains(out, "recipient: <carol@down.example> queued attempts=") || !strings.Contains(out, "Subject: to nowhere") {
		t.Errorf("queue show: %d\n%s", code, out)
	}
	if out, errOut, code := s.immp(t, "", nil, "queue", "flush", "-config", s.config); code != 0 || !strings.Contains(out, "flush requested") {
		t.Errorf("queue flush: %d %s %s", code, out, errOut)
	}
	if out, errOut, code := s.immp(t, "", nil, "queue", "delete", "-config", s.config, id); code != 0 {
		t.Errorf("queue delete: %d %s %s", code, out, errOut)
	}
	if out, _, _ := s.immp(t, "", nil, "queue", "list", "-config", s.config); !strings.Contains(out, "queue is empty") {
		t.Errorf("after delete:\n%s", out)
	}
	if _, errOut, code := s.immp(t, "", nil, "queue", "show", "-config", s.config, id); code != 1 || !strings.Contains(errOut, "no queued message") {
		t.Errorf("show of a deleted message: %d %s", code, errOut)
	}
}

// verifyWithPythonDKIM checks the DKIM signature of m, as it arrived at
// the receiving MX, with Debian's python3-dkim, the public key served by
// dnsmasq from the record "immp dkim show" prints.
func verifyWithPythonDKIM(t *testing.T, s *server, m string) {
	t.Helper()
	if !strings.Contains(m, "DKIM-Signature: ") {
		t.Fatalf("no DKIM-Signature on the delivered message:\n%s", m)
	}
	python := "/usr/bin/python3"
	if !isExecutable(python) || exec.Command(python, "-c", "import dkim, dns.resolver").Run() != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("python3-dkim is not installed; CI must install it (.ci/run)")
		}
		t.Skip("python3-dkim is not installed")
	}
	show, errOut, code := s.immp(t, "", nil, "dkim", "show", "-config", s.config, "example.org")
	if code != 0 {
		t.Fatalf("dkim show: %d %s", code, errOut)
	}
	var zoneLine string
	for _, l := range strings.Split(show, "\n") {
		if strings.Contains(l, "._domainkey.example.org. IN TXT ") {
			zoneLine = strings.Replace(l, ". IN TXT ", ".  IN TXT   ", 1)
		}
	}
	d := startDnsmasq(t, zoneToDnsmasq(t, zoneLine)...)
	cmd := exec.Command(python, "-c", verifyScript, hostOf(d.addr), portOf(d.addr))
	cmd.Stdin = strings.NewReader(strings.ReplaceAll(strings.ReplaceAll(m, "\r\n", "\n"), "\n", "\r\n"))
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.HasPrefix(string(out), "verified") {
		t.Fatalf("python3-dkim did not verify the delivered message: %v\n%s\n%s", err, out, m)
	}
}
