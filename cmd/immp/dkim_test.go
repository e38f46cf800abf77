package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/foxcpp/go-mockdns"
)

// TestDKIMKeygenShow: keygen makes a 0600 key and prints the record name
// and value; show prints the same again; a second keygen is refused
// without -force; show without a key says how to make one.
func TestDKIMKeygenShow(t *testing.T) {
	t.Parallel()
	path, dataDir := writeConfig(t, "")
	out, errOut, code := cli(t, "", "dkim", "show", "-config", path, "example.org")
	if code != exitFail || !strings.Contains(errOut, `immp dkim keygen example.org`) {
		t.Fatalf("show without key: %d %q", code, errOut)
	}
	out, errOut, code = cli(t, "", "dkim", "keygen", "-config", path, "-algo", "ed25519", "example.org")
	if code != exitOK {
		t.Fatalf("keygen: %d %s", code, errOut)
	}
	if !strings.Contains(out, "name:  immp._domainkey.example.org\n") || !strings.Contains(out, "value: v=DKIM1; k=ed25519; p=") {
		t.Fatalf("keygen output:\n%s", out)
	}
	value := out[strings.Index(out, "value: ")+7:]
	value = value[:strings.IndexByte(value, '\n')]
	fi, err := os.Stat(filepath.Join(dataDir, "dkim", "example.org", "immp.key"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v", fi, err)
	}
	show, _, code := cli(t, "", "dkim", "show", "-config", path, "example.org")
	if code != exitOK || !strings.Contains(show, "value: "+value+"\n") {
		t.Fatalf("show: %d\n%s", code, show)
	}
	_, errOut, code = cli(t, "", "dkim", "keygen", "-config", path, "example.org")
	if code != exitFail || !strings.Contains(errOut, "already exists") || !strings.Contains(errOut, "-force") {
		t.Fatalf("second keygen: %d %q", code, errOut)
	}
	out, _, code = cli(t, "", "dkim", "keygen", "-config", path, "-force", "example.org")
	if code != exitOK || !strings.Contains(out, "k=rsa; p=") || strings.Contains(out, value) {
		t.Fatalf("forced keygen: %d\n%s", code, out)
	}
	out, _, code = cli(t, "", "dkim", "keygen", "-config", path, "-selector", "2027a", "example.org")
	if code != exitOK || !strings.Contains(out, "2027a._domainkey.example.org") || !strings.Contains(out, `set it to "2027a"`) {
		t.Fatalf("keygen with another selector: %d\n%s", code, out)
	}
	for _, args := range [][]string{
		{"dkim", "keygen", "-config", path, "other.test"},
		{"dkim", "keygen", "-config", path, "-algo", "dsa", "example.org"},
		{"dkim", "keygen", "-config", path, "-selector", "../x", "example.org"},
		{"dkim", "keygen", "-config", path},
	} {
		if _, errOut, code := cli(t, "", args...); code != exitUsage {
			t.Errorf("%v: %d %q", args, code, errOut)
		}
	}
}

type quietDNS struct{}

func (quietDNS) Printf(string, ...any) {}

// TestDNSRecordsAndCheck: records prints what check then finds in a DNS
// server that publishes it (exit 0); a broken DKIM record is named with
// its fix and exit 1.
func TestDNSRecordsAndCheck(t *testing.T) {
	t.Parallel()
	zones := map[string]mockdns.Zone{}
	srv, err := mockdns.NewServerWithLogger(zones, quietDNS{}, false)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	path, _ := writeConfig(t, fmt.Sprintf("[submission]\nlisten = \"127.0.0.1:0\"\n[outbound]\nresolver = %q\n", srv.LocalAddr().String()))
	out, _, code := cli(t, "", "dns", "records", "-config", path, "example.org")
	if code != exitOK || !strings.Contains(out, "run \"immp dkim keygen example.org\"") {
		t.Fatalf("records without a key: %d\n%s", code, out)
	}
	if _, errOut, code := cli(t, "", "dkim", "keygen", "-config", path, "example.org"); code != exitOK {
		t.Fatal(errOut)
	}
	out, _, _ = cli(t, "", "dns", "records", "-config", path, "example.org")
	// Publish every line records printed (hostname mx.test), and the
	// host's address and PTR, which records can only describe.
	types := map[string]uint16{"A": 1, "CNAME": 5, "PTR": 12, "MX": 15, "TXT": 16, "SRV": 33}
	publish := func(name, typ, data string) {
		t.Helper()
		if err := srv.AppendRR(name, types[typ], data); err != nil {
			t.Fatalf("%s %s %s: %v", name, typ, data, err)
		}
	}
	publish("mx.test.", "A", "192.0.2.10")
	publish("10.2.0.192.in-addr.arpa.", "PTR", "mx.test.")
	n := 0
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) < 4 || strings.HasPrefix(line, ";") {
			continue
		}
		data := strings.Join(f[3:], " ")
		if f[2] == "TXT" {
			data = strings.ReplaceAll(strings.Trim(data, `"`), `" "`, "")
		}
		publish(f[0], f[2], data)
		n++
	}
	if n < 10 {
		t.Fatalf("only %d records printed:\n%s", n, out)
	}
	out, errOut, code := cli(t, "", "dns", "check", "-config", path, "example.org")
	if code != exitOK || strings.Contains(out, "WRONG") || strings.Contains(out, "MISSING") {
		t.Fatalf("check of the published zone: %d %s\n%s", code, errOut, out)
	}
	if !strings.Contains(out, "OK       reverse DNS 10.2.0.192.in-addr.arpa: 192.0.2.10 -> mx.test -> 192.0.2.10") {
		t.Errorf("no forward-confirmed reverse DNS line:\n%s", out)
	}
	// A new key makes the published record stale.
	if _, errOut, code := cli(t, "", "dkim", "keygen", "-force", "-config", path, "example.org"); code != exitOK {
		t.Fatal(errOut)
	}
	out, _, code = cli(t, "", "dns", "check", "-config", path, "example.org")
	if code != exitFail || !strings.Contains(out, "WRONG    DKIM immp._domainkey.example.org: the published key is not this server's key") ||
		!strings.Contains(out, "fix: publish immp._domainkey.example.org.") {
		t.Fatalf("stale DKIM record: %d\n%s", code, out)
	}
}
