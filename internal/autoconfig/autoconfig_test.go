package autoconfig

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"github.com/immp-mail/immp/config"
)

func testConfig(t *testing.T, tlsOn bool) *config.Config {
	t.Helper()
	c := config.Default()
	c.Hostname = "mail.example.org"
	c.Domains = []string{"example.org", "Example.NET"}
	c.IMAP.Listen, c.IMAP.TLSListen, c.Submission.Listen = ":143", ":993", "0.0.0.0:587"
	c.TLS.SelfSigned = tlsOn
	if !tlsOn {
		c.IMAP.TLSListen = ""
	}
	return &c
}

func TestFromConfig(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name       string
		mutate     func(*config.Config)
		tls        bool
		imap, subm []Endpoint
	}{
		{"tls", nil, true, []Endpoint{{993, SocketSSL}, {143, SocketSTARTTLS}}, []Endpoint{{587, SocketSTARTTLS}}},
		{"no tls", nil, false, []Endpoint{{143, SocketPlain}}, []Endpoint{{587, SocketPlain}}},
		{"imaps only", func(c *config.Config) { c.IMAP.Listen = "" }, true, []Endpoint{{993, SocketSSL}}, []Endpoint{{587, SocketSTARTTLS}}},
		{"port 0 left out", func(c *config.Config) { c.Submission.Listen = "127.0.0.1:0" }, true,
			[]Endpoint{{993, SocketSSL}, {143, SocketSTARTTLS}}, nil},
	}
	for _, c := range cases {
		cfg := testConfig(t, c.tls)
		if c.mutate != nil {
			c.mutate(cfg)
		}
		s := FromConfig(cfg)
		if !reflect.DeepEqual(s.IMAP, c.imap) || !reflect.DeepEqual(s.Submission, c.subm) {
			t.Errorf("%s: IMAP %v submission %v, want %v %v", c.name, s.IMAP, s.Submission, c.imap, c.subm)
		}
		if !reflect.DeepEqual(s.Domains, []string{"example.org", "example.net"}) || s.Hostname != "mail.example.org" {
			t.Errorf("%s: %+v", c.name, s)
		}
	}
}

// TestThunderbirdFields: the fields Thunderbird's readFromXML takes, read
// back with encoding/xml.
func TestThunderbirdFields(t *testing.T) {
	t.Parallel()
	body, err := Thunderbird(FromConfig(testConfig(t, true)))
	if err != nil {
		t.Fatal(err)
	}
	checkThunderbird(t, body)
}

func checkThunderbird(t *testing.T, body []byte) {
	t.Helper()
	var c ClientConfig
	if err := xml.Unmarshal(body, &c); err != nil {
		t.Fatalf("%v\n%s", err, body)
	}
	p := c.Provider
	if c.Version != "1.1" || p.ID != "example.org" || !reflect.DeepEqual(p.Domains, []string{"example.org", "example.net"}) || p.DisplayName == "" {
		t.Errorf("clientConfig %+v", c)
	}
	want := []ServerConfig{
		{"imap", "mail.example.org", 993, "SSL", "%EMAILADDRESS%", []string{"password-cleartext"}},
		{"imap", "mail.example.org", 143, "STARTTLS", "%EMAILADDRESS%", []string{"password-cleartext"}},
	}
	if !reflect.DeepEqual(p.Incoming, want) {
		t.Errorf("incomingServer %+v\nwant %+v", p.Incoming, want)
	}
	wantOut := []ServerConfig{{"smtp", "mail.example.org", 587, "STARTTLS", "%EMAILADDRESS%", []string{"password-cleartext"}}}
	if !reflect.DeepEqual(p.Outgoing, wantOut) {
		t.Errorf("outgoingServer %+v", p.Outgoing)
	}
	if !bytes.HasPrefix(body, []byte("<?xml")) || !bytes.Contains(body, []byte(`<clientConfig version="1.1">`)) {
		t.Errorf("document head:\n%s", body[:min(len(body), 120)])
	}
}

func TestAutodiscover(t *testing.T) {
	t.Parallel()
	body, err := Autodiscover(FromConfig(testConfig(t, true)), "alice@example.org")
	if err != nil {
		t.Fatal(err)
	}
	checkAutodiscover(t, body, "alice@example.org")
}

func checkAutodiscover(t *testing.T, body []byte, email string) {
	t.Helper()
	var r AutodiscoverResponse
	if err := xml.Unmarshal(body, &r); err != nil {
		t.Fatalf("%v\n%s", err, body)
	}
	if r.XMLName.Space != nsResponse || r.Response.XMLNS != NSOutlookResponse || r.Response.Account == nil {
		t.Fatalf("envelope %+v\n%s", r, body)
	}
	a := r.Response.Account
	want := []Protocol{
		{"IMAP", "mail.example.org", 993, email, "off", "off", "on", "SSL", "on"},
		{"SMTP", "mail.example.org", 587, email, "off", "off", "on", "TLS", "on"},
	}
	if a.AccountType != "email" || a.Action != "settings" || !reflect.DeepEqual(a.Protocols, want) {
		t.Errorf("account %+v\nwant %+v", a, want)
	}
}

func TestParseAutodiscoverRequest(t *testing.T) {
	t.Parallel()
	req := func(email, schema string) string {
		return `<?xml version="1.0" encoding="utf-8"?><Autodiscover xmlns="` + nsRequest + `"><Request><EMailAddress>` +
			email + `</EMailAddress><AcceptableResponseSchema>` + schema + `</AcceptableResponseSchema></Request></Autodiscover>`
	}
	for _, c := range []struct {
		body, want string
	}{
		{req("alice@example.org", NSOutlookResponse), "alice@example.org"},
		{req(" bob@example.org ", ""), "bob@example.org"},
		{req("alice@example.org", "http://schemas.microsoft.com/exchange/autodiscover/mobilesync/responseschema/2006"), ""},
		{req("alice", NSOutlookResponse), ""},
		{req("", NSOutlookResponse), ""},
		{`<Autodiscover xmlns="urn:other"><Request><EMailAddress>a@example.org</EMailAddress></Request></Autodiscover>`, ""},
		{`<Other><Request><EMailAddress>a@example.org</EMailAddress></Request></Other>`, ""},
		{`not xml`, ""},
		{``, ""},
	} {
		got, err := ParseAutodiscoverRequest([]byte(c.body))
		if got != c.want || (c.want == "") != errors.Is(err, ErrBadRequest) {
			t.Errorf("%q: %q, %v; want %q", c.body, got, err, c.want)
		}
	}
}

func FuzzParseAutodiscoverRequest(f *testing.F) {
	f.Add([]byte(`<Autodiscover xmlns="` + nsRequest + `"><Request><EMailAddress>a@example.org</EMailAddress></Request></Autodiscover>`))
	f.Add([]byte(`<Autodiscover><Request><EMailAddress>`))
	f.Fuzz(func(t *testing.T, body []byte) {
		email, err := ParseAutodiscoverRequest(body)
		if err == nil && (domainOf(email) == "" || len(email) > maxAddressLength) {
			t.Fatalf("accepted %q", email)
		}
		if err != nil && !errors.Is(err, ErrBadRequest) {
			t.Fatalf("untyped error %v", err)
		}
	})
}

// plist reads a property list into Go values (dict: map, array: slice).
func plist(t *testing.T, body []byte) map[string]any {
	t.Helper()
	dec := xml.NewDecoder(bytes.NewReader(body))
	dec.Strict = true
	var value func(start xml.StartElement) any
	value = func(start xml.StartElement) any {
		switch start.Name.Local {
		case "dict":
			m := map[string]any{}
			var key string
			for {
				tok, err := dec.Token()
				if err != nil {
					t.Fatal(err)
				}
				switch tok := tok.(type) {
				case xml.StartElement:
					if tok.Name.Local == "key" {
						var k string
						dec.DecodeElement(&k, &tok)
						key = k
						continue
					}
					m[key] = value(tok)
				case xml.EndElement:
					return m
				}
			}
		case "array":
			var a []any
			for {
				tok, err := dec.Token()
				if err != nil {
					t.Fatal(err)
				}
				switch tok := tok.(type) {
				case xml.StartElement:
					a = append(a, value(tok))
				case xml.EndElement:
					return a
				}
			}
		case "true", "false":
			dec.Skip()
			return start.Name.Local == "true"
		case "integer":
			var s string
			dec.DecodeElement(&s, &start)
			var n int
			fmt.Sscan(s, &n)
			return n
		default:
			var s string
			dec.DecodeElement(&s, &start)
			return s
		}
	}
	for {
		tok, err := dec.Token()
		if err != nil {
			t.Fatalf("no dict in plist: %v", err)
		}
		if se, ok := tok.(xml.StartElement); ok && se.Name.Local == "dict" {
			return value(se).(map[string]any)
		}
	}
}

func TestAppleProfile(t *testing.T) {
	t.Parallel()
	s := FromConfig(testConfig(t, true))
	body, err := AppleProfile(s, "alice@example.org")
	if err != nil {
		t.Fatal(err)
	}
	checkApple(t, body, "alice@example.org")
	again, _ := AppleProfile(s, "alice@example.org")
	other, _ := AppleProfile(s, "bob@example.org")
	if !bytes.Equal(body, again) || plist(t, other)["PayloadUUID"] == plist(t, body)["PayloadUUID"] {
		t.Error("profile UUIDs must be stable per address and differ between addresses")
	}
	if _, err := AppleProfile(Settings{Hostname: "h.test"}, "a@h.test"); err == nil {
		t.Error("a profile without IMAP")
	}
}

func checkApple(t *testing.T, body []byte, email string) {
	t.Helper()
	top := plist(t, body)
	if top["PayloadType"] != "Configuration" || top["PayloadVersion"] != 1 || top["PayloadUUID"] == "" {
		t.Errorf("profile %v", top)
	}
	content := top["PayloadContent"].([]any)
	if len(content) != 1 {
		t.Fatalf("%d payloads", len(content))
	}
	p := content[0].(map[string]any)
	want := map[string]any{
		"PayloadType": "com.apple.mail.managed", "EmailAccountType": "EmailTypeIMAP", "EmailAddress": email,
		"IncomingMailServerHostName": "mail.example.org", "IncomingMailServerPortNumber": 993, "IncomingMailServerUseSSL": true,
		"IncomingMailServerUsername": email, "IncomingMailServerAuthentication": "EmailAuthPassword",
		"OutgoingMailServerHostName": "mail.example.org", "OutgoingMailServerPortNumber": 587, "OutgoingMailServerUseSSL": true,
		"OutgoingMailServerUsername": email, "OutgoingPasswordSameAsIncomingPassword": true, "PayloadVersion": 1,
	}
	for k, v := range want {
		if p[k] != v {
			t.Errorf("%s = %v, want %v", k, p[k], v)
		}
	}
	if !strings.HasPrefix(p["PayloadIdentifier"].(string), "org.example.mail.") {
		t.Errorf("PayloadIdentifier %v", p["PayloadIdentifier"])
	}
}

// TestHandler: the routes over a real socket, and their refusals.
func TestHandler(t *testing.T) {
	t.Parallel()
	mux := http.NewServeMux()
	Mount(mux, FromConfig(testConfig(t, true)), slog.New(slog.DiscardHandler))
	srv := httptest.NewServer(mux)
	defer srv.Close()
	get := func(method, path, body string) (int, []byte, http.Header) {
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b, resp.Header
	}
	for _, p := range []string{"/.well-known/autoconfig/mail/config-v1.1.xml?emailaddress=alice%40example.org", "/mail/config-v1.1.xml"} {
		code, body, h := get("GET", p, "")
		if code != 200 || !strings.HasPrefix(h.Get("Content-Type"), "application/xml") {
			t.Fatalf("%s: %d %s", p, code, h.Get("Content-Type"))
		}
		checkThunderbird(t, body)
	}
	reqBody := `<Autodiscover xmlns="` + nsRequest + `"><Request><EMailAddress>Alice@Example.org</EMailAddress>` +
		`<AcceptableResponseSchema>` + NSOutlookResponse + `</AcceptableResponseSchema></Request></Autodiscover>`
	for _, p := range []string{"/autodiscover/autodiscover.xml", "/Autodiscover/Autodiscover.xml"} {
		code, body, _ := get("POST", p, reqBody)
		if code != 200 {
			t.Fatalf("POST %s: %d %s", p, code, body)
		}
		checkAutodiscover(t, body, "alice@example.org")
	}
	code, body, _ := get("GET", "/autodiscover/autodiscover.xml?email=alice@example.org", "")
	if code != 200 {
		t.Fatalf("GET autodiscover: %d", code)
	}
	checkAutodiscover(t, body, "alice@example.org")
	code, body, h := get("GET", "/apple/profile.mobileconfig?email="+url.QueryEscape("alice@example.org"), "")
	if code != 200 || h.Get("Content-Type") != "application/x-apple-aspen-config" {
		t.Fatalf("apple: %d %s", code, h.Get("Content-Type"))
	}
	checkApple(t, body, "alice@example.org")

	for _, c := range []struct {
		method, path, body string
		want               int
	}{
		{"GET", "/mail/config-v1.1.xml?emailaddress=eve@elsewhere.test", "", 404},
		{"GET", "/mail/config-v1.1.xml?emailaddress=not-an-address", "", 400},
		{"POST", "/autodiscover/autodiscover.xml", strings.Replace(reqBody, "Example.org", "elsewhere.test", 1), 404},
		{"POST", "/autodiscover/autodiscover.xml", "<garbage", 400},
		{"POST", "/autodiscover/autodiscover.xml", "<Autodiscover>" + strings.Repeat("x", MaxRequestBytes) + "</Autodiscover>", 413},
		{"GET", "/autodiscover/autodiscover.xml", "", 400},
		{"GET", "/apple/profile.mobileconfig", "", 400},
		{"GET", "/apple/profile.mobileconfig?email=eve@elsewhere.test", "", 404},
		{"DELETE", "/mail/config-v1.1.xml", "", 405},
	} {
		if code, body, _ := get(c.method, c.path, c.body); code != c.want {
			t.Errorf("%s %s: %d, want %d (%s)", c.method, c.path, code, c.want, body)
		}
	}
}
