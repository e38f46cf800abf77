package integration

import (
	"encoding/xml"
	"fmt"
	"net"
	"strconv"
	"strings"
	"testing"

	"github.com/immp-mail/immp/internal/autoconfig"
)

// TestAutoconfigCurl fetches every client autoconfiguration document from
// the running binary with curl, as a client's HTTP stack would, and reads
// the fields clients use: host name and the ports of the listeners this
// server was started with.
func TestAutoconfigCurl(t *testing.T) {
	curl := needTool(t, "curl")
	imaps := freePort(t)
	s := startServer(t, serverOptions{
		domains: []string{"example.org", "example.net"},
		tables:  map[string]string{"imap": fmt.Sprintf("tls_listen = %q\n", imaps)},
		extra:   "[tls]\nself_signed = true\n",
	})
	port := func(addr string) int {
		_, p, _ := net.SplitHostPort(addr)
		n, _ := strconv.Atoi(p)
		return n
	}
	base := "http://" + s.addrs["http"]
	fetch := func(args ...string) string {
		return run(t, "", curl, append([]string{"-sS", "--fail", "--max-time", "10"}, args...)...)
	}

	for _, path := range []string{"/.well-known/autoconfig/mail/config-v1.1.xml?emailaddress=alice%40example.net", "/mail/config-v1.1.xml"} {
		var c autoconfig.ClientConfig
		body := fetch(base + path)
		if err := xml.Unmarshal([]byte(body), &c); err != nil {
			t.Fatalf("%s: %v\n%s", path, err, body)
		}
		in, out := c.Provider.Incoming, c.Provider.Outgoing
		if c.Version != "1.1" || len(in) != 2 || len(out) != 1 ||
			in[0].Type != "imap" || in[0].Hostname != "mx.test" || in[0].Port != port(imaps) || in[0].SocketType != "SSL" ||
			in[0].Username != "%EMAILADDRESS%" || len(in[0].Authentication) != 1 || in[0].Authentication[0] != "password-cleartext" ||
			in[1].Port != port(s.addrs["imap"]) || in[1].SocketType != "STARTTLS" ||
			out[0].Type != "smtp" || out[0].Port != port(s.addrs["submission"]) || out[0].SocketType != "STARTTLS" ||
			out[0].Hostname != "mx.test" || out[0].Username != "%EMAILADDRESS%" {
			t.Errorf("%s: %+v", path, c)
		}
		if strings.Join(c.Provider.Domains, ",") != "example.org,example.net" {
			t.Errorf("domains %v", c.Provider.Domains)
		}
	}

	req := `<?xml version="1.0" encoding="utf-8"?>
<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006">
  <Request><EMailAddress>alice@example.org</EMailAddress>
  <AcceptableResponseSchema>http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a</AcceptableResponseSchema>
  </Request></Autodiscover>`
	body := fetch("-X", "POST", "-H", "Content-Type: text/xml", "--data-binary", req, base+"/autodiscover/autodiscover.xml")
	var r autoconfig.AutodiscoverResponse
	if err := xml.Unmarshal([]byte(body), &r); err != nil || r.Response.Account == nil {
		t.Fatalf("autodiscover: %v\n%s", err, body)
	}
	if r.Response.XMLNS != autoconfig.NSOutlookResponse {
		t.Errorf("response schema %q", r.Response.XMLNS)
	}
	p := r.Response.Account.Protocols
	if len(p) != 2 || p[0].Type != "IMAP" || p[0].Server != "mx.test" || p[0].Port != port(imaps) || p[0].Encryption != "SSL" ||
		p[0].LoginName != "alice@example.org" || p[1].Type != "SMTP" || p[1].Port != port(s.addrs["submission"]) || p[1].Encryption != "TLS" {
		t.Errorf("autodiscover protocols %+v", p)
	}

	profile := fetch(base + "/apple/profile.mobileconfig?email=alice%40example.org")
	for _, want := range []string{"<string>com.apple.mail.managed</string>", "<key>IncomingMailServerHostName</key>\n\t\t\t<string>mx.test</string>",
		fmt.Sprintf("<key>IncomingMailServerPortNumber</key>\n\t\t\t<integer>%d</integer>", port(imaps)),
		fmt.Sprintf("<key>OutgoingMailServerPortNumber</key>\n\t\t\t<integer>%d</integer>", port(s.addrs["submission"]))} {
		if !strings.Contains(profile, want) {
			t.Errorf("profile lacks %q:\n%s", want, profile)
		}
	}
	if err := xml.Unmarshal([]byte(profile), new(struct {
		XMLName xml.Name `xml:"plist"`
	})); err != nil {
		t.Errorf("profile is not XML: %v", err)
	}

	// A domain this server does not serve: curl --fail exits 22 on 404.
	out := runAllowFail(t, curl, "-sS", "-o", "/dev/null", "-w", "%{http_code}", base+"/mail/config-v1.1.xml?emailaddress=eve%40elsewhere.test")
	if strings.TrimSpace(out) != "404" {
		t.Errorf("foreign domain: %q", out)
	}
}
