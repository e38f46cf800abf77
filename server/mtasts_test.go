package server

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/immp-mail/immp/config"
	"github.com/immp-mail/immp/dnssetup"
)

// TestMTASTSPolicyServed: the HTTP listener answers the MTA-STS policy
// for mta-sts.DOMAIN (RFC 8461 3.3) naming the host name as MX, and the
// id "immp dns records" asks to publish is that policy's.
func TestMTASTSPolicyServed(t *testing.T) {
	t.Parallel()
	src := fmt.Sprintf("hostname = \"mail.example.org\"\ndata_dir = %q\ndomains = [\"example.org\"]\n[http]\nlisten = \"127.0.0.1:0\"\nmta_sts_mode = \"enforce\"\n", t.TempDir())
	d := startTestServer(t, src, nil)
	get := func(host string) (int, string) {
		req, _ := http.NewRequest("GET", "http://"+d.Addr("http.listen")+"/.well-known/mta-sts.txt", nil)
		req.Host = host
		resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	code, body := get("mta-sts.example.org")
	if code != 200 || body != "version: STSv1\r\nmode: enforce\r\nmx: mail.example.org\r\nmax_age: 604800\r\n" {
		t.Fatalf("policy: %d %q", code, body)
	}
	if code, _ := get("mta-sts.other.test"); code != 404 {
		t.Errorf("a foreign domain's policy host got %d", code)
	}
	cfg, err := config.Parse([]byte(src), "test.toml")
	if err != nil {
		t.Fatal(err)
	}
	setup, err := dnssetup.FromConfig(cfg, "example.org")
	if err != nil {
		t.Fatal(err)
	}
	var txt string
	for _, r := range dnssetup.Records(setup) {
		if r.Kind == dnssetup.KindMTASTS {
			txt = r.Value
		}
	}
	// The id is derived from the bytes served, so a change of the policy
	// changes the record that "immp dns records" asks for.
	sum := sha256.Sum256([]byte(body))
	if want := "v=STSv1; id=" + hex.EncodeToString(sum[:10]); txt != want {
		t.Errorf("dns records asks for %q, the served policy's record is %q", txt, want)
	}
}
