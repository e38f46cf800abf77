package integration

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/smtp"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/immp-mail/immp/internal/syncbuf"
)

// pebble is a running Pebble ACME test CA (github.com/letsencrypt/pebble).
type pebble struct {
	dir, mgmt string // directory URL, management address
	caRoot    string // PEM of the CA pebble's own HTTPS certificate is from
	log       syncbuf.Buffer
	cmd       *exec.Cmd
}

// startPebble builds the pebble tool of go.mod and runs it on loopback
// ports. It validates challenges for real: names resolve through dnsAddr
// and it connects to tlsPort (TLS-ALPN-01) and httpPort (HTTP-01) on
// 127.0.0.1. Certificates live validity.
func startPebble(t *testing.T, dnsAddr string, tlsPort, httpPort string, validity time.Duration) *pebble {
	t.Helper()
	dir := t.TempDir()
	bin := filepath.Join(dir, "pebble")
	build := exec.Command("go", "build", "-o", bin, "github.com/letsencrypt/pebble/v2/cmd/pebble")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building pebble (go.mod tool): %v\n%s", err, out)
	}
	modDir, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/letsencrypt/pebble/v2").Output()
	if err != nil {
		t.Fatalf("go list pebble: %v", err)
	}
	certs := filepath.Join(strings.TrimSpace(string(modDir)), "test", "certs")
	p := &pebble{caRoot: filepath.Join(certs, "pebble.minica.pem")}
	listen, mgmt := freePort(t), freePort(t)
	p.dir, p.mgmt = "https://"+listen+"/dir", mgmt
	cfg := map[string]any{"pebble": map[string]any{
		"listenAddress":           listen,
		"managementListenAddress": mgmt,
		"certificate":             filepath.Join(certs, "localhost", "cert.pem"),
		"privateKey":              filepath.Join(certs, "localhost", "key.pem"),
		"httpPort":                atoi(t, httpPort),
		"tlsPort":                 atoi(t, tlsPort),
		"ocspResponderURL":        "",
		"keyAlgorithm":            "ecdsa",
		"profiles": map[string]any{"default": map[string]any{
			"description": "short-lived, to see renewals", "validityPeriod": int(validity / time.Second)}},
	}}
	b, _ := json.Marshal(cfg)
	cfgPath := filepath.Join(dir, "pebble.json")
	if err := os.WriteFile(cfgPath, b, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-config", cfgPath, "-dnsserver", dnsAddr)
	// No random sleep before validation, no nonces refused on purpose:
	// this test is about immp, not about a client's retry loop.
	cmd.Env = append(os.Environ(), "PEBBLE_VA_NOSLEEP=1", "PEBBLE_WFE_NONCEREJECT=0")
	cmd.Stdout, cmd.Stderr = &p.log, &p.log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p.cmd = cmd
	t.Cleanup(func() {
		p.stop()
		if t.Failed() {
			t.Logf("pebble log:\n%s", p.log.String())
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for !canConnect(listen) {
		if time.Now().After(deadline) {
			t.Fatalf("pebble did not listen on %s; log:\n%s", listen, p.log.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	return p
}

// stop ends pebble (idempotent).
func (p *pebble) stop() {
	if p.cmd != nil {
		p.cmd.Process.Kill()
		p.cmd.Wait()
		p.cmd = nil
	}
}

// roots returns pebble's issuing root (fresh for each run), fetched from
// its management interface, as a pool and as PEM.
func (p *pebble) roots(t *testing.T) (*x509.CertPool, []byte) {
	t.Helper()
	pool, err := x509.SystemCertPool()
	if err != nil {
		pool = x509.NewCertPool()
	}
	ca, err := os.ReadFile(p.caRoot)
	if err != nil {
		t.Fatal(err)
	}
	pool.AppendCertsFromPEM(ca)
	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	resp, err := c.Get("https://" + p.mgmt + "/roots/0")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(body) {
		t.Fatalf("pebble /roots/0: no PEM: %q", body)
	}
	return roots, body
}

// loopbackDNS answers every A question with 127.0.0.1 (and AAAA with
// nothing), over UDP and TCP on one port, so that pebble validates
// against immp on loopback.
func loopbackDNS(t *testing.T) string {
	t.Helper()
	handler := dns.HandlerFunc(func(w dns.ResponseWriter, r *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(r)
		for _, q := range r.Question {
			if q.Qtype == dns.TypeA {
				m.Answer = append(m.Answer, &dns.A{Hdr: dns.RR_Header{Name: q.Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 1},
					A: net.IPv4(127, 0, 0, 1)})
			}
		}
		w.WriteMsg(m)
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	pc, err := net.ListenPacket("udp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	for _, srv := range []*dns.Server{{PacketConn: pc, Handler: handler}, {Listener: ln, Handler: handler}} {
		go srv.ActivateAndServe()
		t.Cleanup(func() { srv.Shutdown() })
	}
	return ln.Addr().String()
}

// leafOf makes a TLS handshake on IMAPS (implicit TLS) as a client
// would, for the host name, and returns the verified chain's leaf.
func imapsLeaf(addr string, roots *x509.CertPool) (*x509.Certificate, error) {
	d := &net.Dialer{Timeout: 5 * time.Second}
	c, err := tls.DialWithDialer(d, "tcp", addr, &tls.Config{ServerName: "mx.test", RootCAs: roots})
	if err != nil {
		return nil, err
	}
	defer c.Close()
	return c.ConnectionState().PeerCertificates[0], nil
}

// starttlsLeaf does SMTP STARTTLS (RFC 3207) and returns the verified leaf.
func starttlsLeaf(t *testing.T, addr string, roots *x509.CertPool) *x509.Certificate {
	t.Helper()
	c, err := smtp.Dial(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Hello("client.test"); err != nil {
		t.Fatal(err)
	}
	if ok, _ := c.Extension("STARTTLS"); !ok {
		t.Fatal("SMTP does not offer STARTTLS")
	}
	if err := c.StartTLS(&tls.Config{ServerName: "mx.test", RootCAs: roots}); err != nil {
		t.Fatalf("STARTTLS with pebble's root: %v", err)
	}
	st, _ := c.TLSConnectionState()
	c.Quit()
	return st.PeerCertificates[0]
}

// TestACMEPebble: with [tls] acme against pebble, immp obtains a
// certificate by TLS-ALPN-01 answered on its own IMAPS listener (pebble
// connects to it, validation is real), serves it on IMAPS and on SMTP
// STARTTLS (verified against pebble's root), and renews it without a
// restart when it nears its end (a 40-second lifetime).
func TestACMEPebble(t *testing.T) { testACME(t, "tls-alpn-01", true) }

// TestACMEPebbleHTTP01: the same with HTTP-01 answered on the [http]
// listener.
func TestACMEPebbleHTTP01(t *testing.T) { testACME(t, "http-01", false) }

func testACME(t *testing.T, challenge string, renewal bool) {
	dnsAddr := loopbackDNS(t)
	imaps, httpAddr, https := freePort(t), freePort(t), freePort(t)
	_, tlsPort, _ := net.SplitHostPort(imaps)
	_, httpPort, _ := net.SplitHostPort(httpAddr)
	const validity = 40 * time.Second
	p := startPebble(t, dnsAddr, tlsPort, httpPort, validity)
	challengeAddr := imaps
	if challenge == "http-01" {
		challengeAddr = httpAddr
	}
	s := startServer(t, serverOptions{
		extra: fmt.Sprintf("[tls]\nacme = true\nacme_email = \"admin@example.org\"\nacme_directory = %q\n"+
			"acme_ca_root = %q\nacme_challenge = %q\nacme_listen = %q\nacme_renew_check = \"1s\"\n",
			p.dir, p.caRoot, challenge, challengeAddr),
		addrs: map[string]string{"http": httpAddr},
		// HTTPS too: then autoconfig.example.org gets a certificate.
		tables: map[string]string{"imap": fmt.Sprintf("tls_listen = %q\n", imaps), "http": fmt.Sprintf("tls_listen = %q\n", https)},
	})
	roots, rootPEM := p.roots(t)

	// Until the CA has answered, the interim self-signed certificate is
	// served; poll until the handshake verifies against pebble's root.
	var leaf *x509.Certificate
	var lastErr error
	deadline := time.Now().Add(60 * time.Second)
	for leaf == nil && time.Now().Before(deadline) {
		if leaf, lastErr = imapsLeaf(imaps, roots); leaf == nil {
			time.Sleep(250 * time.Millisecond)
		}
	}
	if leaf == nil {
		t.Fatalf("no certificate from pebble on IMAPS within 60s (last: %v); immp log:\n%s", lastErr, s.logs())
	}
	if !strings.Contains(leaf.Issuer.CommonName, "Pebble") || leaf.DNSNames[0] != "mx.test" {
		t.Fatalf("IMAPS certificate: issuer %q names %v", leaf.Issuer.CommonName, leaf.DNSNames)
	}
	t.Logf("IMAPS: serial %x from %q, valid until %v", leaf.SerialNumber, leaf.Issuer.CommonName, leaf.NotAfter)

	smtpLeaf := starttlsLeaf(t, s.addrs["smtp"], roots)
	if smtpLeaf.SerialNumber.Cmp(leaf.SerialNumber) != 0 {
		// A renewal may fall between the two handshakes: then SMTP has
		// the newer one, never the self-signed or an unrelated one.
		if !strings.Contains(smtpLeaf.Issuer.CommonName, "Pebble") || smtpLeaf.NotBefore.Before(leaf.NotBefore) {
			t.Fatalf("SMTP STARTTLS serves %x from %q, IMAPS %x", smtpLeaf.SerialNumber, smtpLeaf.Issuer.CommonName, leaf.SerialNumber)
		}
	}
	t.Logf("SMTP STARTTLS: serial %x from %q", smtpLeaf.SerialNumber, smtpLeaf.Issuer.CommonName)

	// Stored under data_dir/acme.
	var stored []string
	filepath.WalkDir(filepath.Join(s.dataDir, "acme"), func(path string, d os.DirEntry, err error) error {
		if err == nil && strings.HasSuffix(path, "mx.test.crt") {
			stored = append(stored, path)
		}
		return nil
	})
	if len(stored) == 0 {
		t.Fatalf("no mx.test.crt under %s", filepath.Join(s.dataDir, "acme"))
	}

	// /metrics tells when the ACME certificate of mx.test expires (a
	// renewal may have replaced the one IMAPS showed: then a later one).
	resp, err := httpClient.Get("http://" + s.addrs["http"] + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metricsText, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := regexp.MustCompile(`(?m)^immp_tls_certificate_expiry_timestamp_seconds\{name="mx\.test",source="acme"\} (\S+)$`).FindSubmatch(metricsText)
	if m == nil {
		t.Fatalf("no ACME expiry metric for mx.test:\n%s", metricsText)
	}
	if v, _ := strconv.ParseFloat(string(m[1]), 64); int64(v) < leaf.NotAfter.Unix() {
		t.Errorf("expiry metric %s, before the served certificate's %v", m[1], leaf.NotAfter)
	}

	// HTTPS, for autoconfig.example.org (a certificate of its own), with
	// curl checking it against pebble's root.
	curl := needTool(t, "curl")
	rootFile := filepath.Join(t.TempDir(), "pebble-root.pem")
	os.WriteFile(rootFile, rootPEM, 0o600)
	_, httpsPort, _ := net.SplitHostPort(https)
	var body string
	deadline = time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		out, err := exec.Command(curl, "-sS", "--fail", "--max-time", "5", "--cacert", rootFile,
			"--resolve", "autoconfig.example.org:"+httpsPort+":127.0.0.1",
			"https://autoconfig.example.org:"+httpsPort+"/mail/config-v1.1.xml").CombinedOutput()
		if body = string(out); err == nil {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	if !strings.Contains(body, "<clientConfig") {
		t.Fatalf("autoconfig over HTTPS with pebble's certificate: %s\nimmp log:\n%s", body, s.logs())
	}

	if !renewal {
		// The certificate is kept in data_dir/acme: with the CA gone, a
		// restarted server serves it at once.
		p.stop()
		before, err := imapsLeaf(imaps, roots) // the latest: no renewal without the CA
		if err != nil {
			t.Fatal(err)
		}
		s.stop()
		s.restart()
		l, err := imapsLeaf(imaps, roots)
		if err != nil || l.SerialNumber.Cmp(before.SerialNumber) != 0 {
			t.Fatalf("after a restart without the CA: %v (serial %v, want %x); immp log:\n%s", err, l, before.SerialNumber, s.logs())
		}
		return
	}
	// Renewal: a new serial on the same process, on both listeners.
	pid := s.cmd.Process.Pid
	deadline = time.Now().Add(validity + 20*time.Second)
	var renewed *x509.Certificate
	for time.Now().Before(deadline) {
		l, err := imapsLeaf(imaps, roots)
		if err == nil && l.SerialNumber.Cmp(leaf.SerialNumber) != 0 {
			renewed = l
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	if renewed == nil {
		t.Fatalf("certificate %x not renewed within %v; immp log:\n%s", leaf.SerialNumber, validity+20*time.Second, s.logs())
	}
	if s.cmd.Process.Pid != pid {
		t.Fatal("the server was restarted")
	}
	if !renewed.NotBefore.After(leaf.NotBefore) && !renewed.NotAfter.After(leaf.NotAfter) {
		t.Fatalf("renewed certificate %x is not newer than %x", renewed.SerialNumber, leaf.SerialNumber)
	}
	t.Logf("renewed: serial %x valid until %v", renewed.SerialNumber, renewed.NotAfter)
	after := starttlsLeaf(t, s.addrs["smtp"], roots)
	if after.SerialNumber.Cmp(leaf.SerialNumber) == 0 {
		t.Fatalf("SMTP STARTTLS still serves the old certificate %x", leaf.SerialNumber)
	}
}
