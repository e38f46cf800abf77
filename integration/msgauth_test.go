package integration

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/immp-mail/immp/internal/syncbuf"
	"github.com/immp-mail/immp/msgauth"
)

// dnsmasq is a private dnsmasq (Debian dnsmasq-base) on a loopback port,
// authoritative for the test names given with --local.
type dnsmasq struct {
	addr string
	cmd  *exec.Cmd
	log  syncbuf.Buffer
	done chan struct{}
}

// stop ends dnsmasq (once; later calls do nothing).
func (d *dnsmasq) stop() {
	if d.cmd.ProcessState == nil {
		d.cmd.Process.Kill()
	}
	<-d.done
}

// startDnsmasq serves the records of args (dnsmasq options such as
// --txt-record=NAME,TEXT) and answers NXDOMAIN for any other name under
// .test and example.org, never asking upstream.
func startDnsmasq(t *testing.T, args ...string) *dnsmasq {
	t.Helper()
	needTool(t, "dnsmasq")
	return startDnsmasqAt(t, freePort(t), args...)
}

// zoneToDnsmasq turns the zone lines "immp dns records" prints into
// dnsmasq options, so that the zone served is exactly the one printed.
func zoneToDnsmasq(t *testing.T, zone string) []string {
	t.Helper()
	var out []string
	for _, line := range strings.Split(zone, "\n") {
		f := strings.Fields(line)
		if len(f) < 4 || strings.HasPrefix(line, ";") {
			continue
		}
		name := strings.TrimSuffix(f[0], ".")
		switch f[2] {
		case "MX":
			out = append(out, fmt.Sprintf("--mx-host=%s,%s,%s", name, strings.TrimSuffix(f[4], "."), f[3]))
		case "TXT":
			// "a" "b": dnsmasq takes the strings comma-separated.
			v := strings.Join(f[3:], " ")
			parts := strings.Split(strings.Trim(v, `"`), `" "`)
			out = append(out, "--txt-record="+name+","+strings.Join(parts, ","))
		case "SRV":
			if f[6] == "." {
				out = append(out, "--srv-host="+name) // "service not offered"
				continue
			}
			out = append(out, fmt.Sprintf("--srv-host=%s,%s,%s,%s,%s", name, strings.TrimSuffix(f[6], "."), f[5], f[3], f[4]))
		case "CNAME":
			out = append(out, fmt.Sprintf("--cname=%s,%s", name, strings.TrimSuffix(f[3], ".")))
		}
	}
	return out
}

// TestDNSCheckAgainstDnsmasq: the zone "immp dns records" prints, served
// by dnsmasq with the host's address and PTR, passes "immp dns check";
// served without its DMARC record and with a wrong SPF record, check
// exits 1 naming both with their fixes.
func TestDNSCheckAgainstDnsmasq(t *testing.T) {
	t.Parallel()
	needTool(t, "dnsmasq")
	dir := t.TempDir()
	cfg := filepath.Join(dir, "immp.toml")
	resolverAddr := freePort(t)
	write(t, cfg, fmt.Sprintf("hostname = \"mx.test\"\ndata_dir = %q\ndomains = [\"example.org\"]\n"+
		"[submission]\nlisten = \"127.0.0.1:587\"\n[imap]\nlisten = \"127.0.0.1:143\"\ntls_listen = \"127.0.0.1:993\"\n"+
		"[tls]\nself_signed = true\n[outbound]\nresolver = %q\n", filepath.Join(dir, "data"), resolverAddr))
	s := &server{t: t}
	if out, errOut, code := s.immp(t, "", nil, "dkim", "keygen", "-config", cfg, "example.org"); code != 0 {
		t.Fatalf("keygen: %d %s %s", code, out, errOut)
	}
	zone, errOut, code := s.immp(t, "", nil, "dns", "records", "-config", cfg, "example.org")
	if code != 0 {
		t.Fatalf("records: %d %s", code, errOut)
	}
	host := []string{"--host-record=mx.test,192.0.2.10", "--ptr-record=10.2.0.192.in-addr.arpa,mx.test"}
	opts := zoneToDnsmasq(t, zone)
	check := func(opts []string) (string, int) {
		t.Helper()
		d := startDnsmasqAt(t, resolverAddr, opts...)
		out, errOut, code := s.immp(t, "", nil, "dns", "check", "-config", cfg, "example.org")
		d.stop()
		return out + errOut, code
	}
	out, code := check(append(host, opts...))
	if code != 0 || strings.Contains(out, "WRONG") || strings.Contains(out, "MISSING") {
		t.Fatalf("check of the printed zone: exit %d\n%s", code, out)
	}
	if !strings.Contains(out, "OK       reverse DNS 10.2.0.192.in-addr.arpa: 192.0.2.10 -> mx.test -> 192.0.2.10") {
		t.Errorf("no forward-confirmed reverse DNS:\n%s", out)
	}
	var broken []string
	for _, o := range opts {
		switch {
		case strings.HasPrefix(o, "--txt-record=_dmarc."):
		case strings.HasPrefix(o, "--txt-record=example.org,v=spf1"):
			broken = append(broken, "--txt-record=example.org,v=spf1 ip4:198.51.100.1 -all")
		default:
			broken = append(broken, o)
		}
	}
	out, code = check(append(host, broken...))
	for _, want := range []string{
		"MISSING  DMARC _dmarc.example.org: no TXT record",
		"fix: publish _dmarc.example.org.",
		`WRONG    SPF example.org: "v=spf1 ip4:198.51.100.1 -all" gives fail for mx.test's address 192.0.2.10`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in\n%s", want, out)
		}
	}
	if code != 1 {
		t.Errorf("exit %d with a broken zone, want 1", code)
	}
}

// startDnsmasqAt is startDnsmasq on a given address (the one the config
// names), stoppable before the test ends.
func startDnsmasqAt(t *testing.T, addr string, args ...string) *dnsmasq {
	t.Helper()
	bin := needTool(t, "dnsmasq")
	d := &dnsmasq{addr: addr}
	base := []string{"--keep-in-foreground", "--no-daemon", "--no-resolv", "--no-hosts", "--conf-file=/dev/null",
		"--port=" + portOf(addr), "--listen-address=" + hostOf(addr), "--bind-interfaces",
		"--log-facility=-", "--local=/test/", "--local=/example.org/", "--local=/in-addr.arpa/", "--cache-size=0"}
	if os.Geteuid() == 0 {
		base = append(base, "--user=root")
	}
	d.cmd = exec.Command(bin, append(base, args...)...)
	d.cmd.Stdout, d.cmd.Stderr = &d.log, &d.log
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	d.done = make(chan struct{})
	go func() { d.cmd.Wait(); close(d.done) }()
	t.Cleanup(d.stop)
	deadline := time.Now().Add(10 * time.Second)
	for !canConnect(addr) {
		select {
		case <-d.done:
			t.Fatalf("dnsmasq exited: %s", d.log.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("dnsmasq not listening on %s", addr)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return d
}

// TestPostfixIntoImmpGetsAuthenticationResults: a real Postfix relays
// mail into immp's Receiver-SMTP; immp checks SPF (MAIL FROM and HELO)
// and DMARC against dnsmasq and stores the message with one
// Authentication-Results field at its top. A sender whose domain
// publishes p=reject and fails is refused with 550 5.7.1.
func TestPostfixIntoImmpGetsAuthenticationResults(t *testing.T) {
	t.Parallel()
	d := startDnsmasq(t,
		"--txt-record=relay.test,v=spf1 ip4:127.0.0.0/8 -all",
		"--txt-record=_dmarc.relay.test,v=DMARC1; p=reject",
		"--txt-record=strict.test,v=spf1 -all",
		"--txt-record=_dmarc.strict.test,v=DMARC1; p=reject")
	s := startServer(t, serverOptions{extra: fmt.Sprintf("[outbound]\nresolver = %q\n", d.addr)})
	s.addUser(t, "carol@example.org", "pw-carol")
	p := startPostfix(t, s.addrs["smtp"])
	swaks(t, p.addr, "sender@relay.test", "carol@example.org", "via postfix, checked")

	var msg string
	deadline := time.Now().Add(30 * time.Second)
	for {
		if ms := storedMessages(t, s.dataDir, "carol@example.org", ""); len(ms) == 1 {
			msg = ms[0]
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no message after 30s; postfix log:\n%s\nimmp log:\n%s", p.log(), s.logs())
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !strings.HasPrefix(msg, "Authentication-Results: mx.test;") {
		t.Fatalf("stored message does not start with Authentication-Results:\n%s", msg)
	}
	ar := strings.ReplaceAll(msg[:strings.Index(msg, "\r\nReturn-Path:")], "\r\n\t", " ")
	for _, want := range []string{"spf=pass smtp.mailfrom=sender@relay.test", "spf=pass smtp.helo=relay.test", "dkim=none", "dmarc=pass header.from=relay.test"} {
		if !strings.Contains(ar, want) {
			t.Errorf("%q missing from %s", want, ar)
		}
	}
	if strings.Count(msg, "Authentication-Results:") != 1 {
		t.Errorf("more than one Authentication-Results:\n%s", msg)
	}

	// Straight to immp from loopback, claiming a domain whose SPF fails
	// and whose DMARC policy is reject.
	bin := needTool(t, "swaks")
	out, err := exec.Command(bin, "--server", s.addrs["smtp"], "--from", "x@strict.test", "--to", "carol@example.org",
		"--header", "Subject: forged", "--body", "forged").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "550 5.7.1") {
		t.Errorf("DMARC p=reject failure not refused with 550 5.7.1 (err %v):\n%s", err, out)
	}
}

// storedMessages reads every message of one folder ("" : INBOX) straight
// from the account's Maildir.
func storedMessages(t *testing.T, dataDir, account, folder string) []string {
	t.Helper()
	local, domain, _ := strings.Cut(account, "@")
	root := filepath.Join(dataDir, "mail", domain, local, "Maildir")
	if folder != "" {
		root = filepath.Join(root, "."+folder)
	}
	var out []string
	for _, sub := range []string{"new", "cur"} {
		ents, _ := os.ReadDir(filepath.Join(root, sub))
		for _, e := range ents {
			b, err := os.ReadFile(filepath.Join(root, sub, e.Name()))
			if err == nil {
				out = append(out, string(b))
			}
		}
	}
	return out
}

// verifyScript verifies a message on stdin with Debian's python3-dkim,
// asking the DNS server given as host and port for the key.
const verifyScript = `
import sys, dkim, dns.resolver
res = dns.resolver.Resolver(configure=False)
res.nameservers = [sys.argv[1]]
res.port = int(sys.argv[2])
def txt(name, timeout=5):
    name = name.decode() if isinstance(name, bytes) else name
    a = res.resolve(name, "TXT", lifetime=timeout)
    return b"".join(a[0].strings)
msg = sys.stdin.buffer.read()
ok = dkim.verify(msg, dnsfunc=txt)
print("verified" if ok else "NOT verified")
sys.exit(0 if ok else 1)
`

// TestSignatureVerifiedByPythonDKIM: a key made by "immp dkim keygen",
// published through dnsmasq as "immp dkim show" prints it, and a message
// signed by immp's signer with it: Debian's python3-dkim verifies the
// signature (RSA and Ed25519), and rejects it once the body is changed.
func TestSignatureVerifiedByPythonDKIM(t *testing.T) {
	t.Parallel()
	python := "/usr/bin/python3" // Debian's, with python3-dkim
	if !isExecutable(python) || exec.Command(python, "-c", "import dkim, dns.resolver").Run() != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("python3-dkim is not installed; CI must install it (.ci/run)")
		}
		t.Skip("python3-dkim is not installed")
	}
	for _, algo := range []string{"rsa", "ed25519"} {
		t.Run(algo, func(t *testing.T) {
			dir := t.TempDir()
			cfg := filepath.Join(dir, "immp.toml")
			dataDir := filepath.Join(dir, "data")
			write(t, cfg, fmt.Sprintf("hostname = \"mx.test\"\ndata_dir = %q\ndomains = [\"example.org\"]\n", dataDir))
			s := &server{t: t}
			if out, errOut, code := s.immp(t, "", nil, "dkim", "keygen", "-config", cfg, "-algo", algo, "example.org"); code != 0 {
				t.Fatalf("keygen: %d %s %s", code, out, errOut)
			}
			show, _, code := s.immp(t, "", nil, "dkim", "show", "-config", cfg, "example.org")
			if code != 0 {
				t.Fatal(show)
			}
			var zoneLine string
			for _, l := range strings.Split(show, "\n") {
				if strings.HasPrefix(l, "immp._domainkey.example.org. IN TXT ") {
					zoneLine = strings.Replace(l, ". IN TXT ", ".  IN TXT   ", 1)
				}
			}
			d := startDnsmasq(t, zoneToDnsmasq(t, zoneLine)...)
			signer := msgauth.NewSigner(msgauth.SignerOptions{DataDir: dataDir, Selector: "immp",
				Headers: []string{"From", "From", "To", "Subject", "Date", "Message-ID"}})
			msg := "From: Alice <alice@example.org>\r\nTo: bob@remote.test\r\nSubject: signed\r\n" +
				"Date: Thu, 03 Dec 2026 10:00:00 +0000\r\nMessage-ID: <sig@example.org>\r\n\r\nHello.\r\n"
			sig, err := signer.SignHeader(context.Background(), []byte(msg))
			if err != nil || sig == "" {
				t.Fatalf("SignHeader: %q %v", sig, err)
			}
			verify := func(m string) (string, error) {
				cmd := exec.Command(python, "-c", verifyScript, hostOf(d.addr), portOf(d.addr))
				cmd.Stdin = strings.NewReader(m)
				out, err := cmd.CombinedOutput()
				return string(out), err
			}
			if out, err := verify(sig + msg); err != nil || !strings.HasPrefix(out, "verified") {
				t.Fatalf("python3-dkim did not verify: %v\n%s\n%s", err, out, sig)
			}
			if out, err := verify(sig + strings.Replace(msg, "Hello.", "Hello!", 1)); err == nil {
				t.Errorf("a changed body verified:\n%s", out)
			}
		})
	}
}
