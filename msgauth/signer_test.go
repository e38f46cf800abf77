package msgauth

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-msgauth/dkim"
	"github.com/foxcpp/go-mockdns"

	"github.com/immp-mail/immp/internal/resolver"
)

const testMsg = "From: Alice <alice@example.org>\r\n" +
	"To: bob@remote.test\r\n" +
	"Subject: hello\r\n" +
	"Date: Thu, 03 Dec 2026 10:00:00 +0000\r\n" +
	"Message-ID: <1@example.org>\r\n" +
	"\r\n" +
	"Hello Bob.\r\n"

// dnsServer serves zones on a loopback port; the returned function is a
// DKIM/DMARC TXT lookup through internal/resolver, as the server does.
func dnsServer(t testing.TB, zones map[string]mockdns.Zone) (*mockdns.Server, string) {
	t.Helper()
	srv, err := mockdns.NewServerWithLogger(zones, discardLog{}, false)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv, srv.LocalAddr().String()
}

type discardLog struct{}

func (discardLog) Printf(string, ...any) {}

// TestSignedMailVerifies: what SignHeader signs, go-msgauth's verifier
// verifies with the key published in DNS as keygen prints it, for RSA
// and Ed25519; a second From added afterwards (oversigned) and a changed
// body both break the signature.
func TestSignedMailVerifies(t *testing.T) {
	t.Parallel()
	for _, algo := range []string{AlgoRSA, AlgoEd25519} {
		t.Run(algo, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			priv, err := GenerateKey(algo)
			if err != nil {
				t.Fatal(err)
			}
			k := &Key{Domain: "example.org", Selector: "s1", Signer: priv}
			if err := WriteKey(dir, k, false); err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(k.RecordValue(), "v=DKIM1; k="+algo+"; p=") {
				t.Fatalf("record %q", k.RecordValue())
			}
			_, addr := dnsServer(t, map[string]mockdns.Zone{
				k.RecordName() + ".": {TXT: []string{k.RecordValue()}},
			})
			res := resolver.New(addr, 2*time.Second)
			s := NewSigner(SignerOptions{DataDir: dir, Selector: "s1",
				Headers: []string{"From", "From", "To", "Subject", "Date", "Message-ID", "Cc"}})
			sig, err := s.SignHeader(context.Background(), []byte(testMsg))
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(sig, "DKIM-Signature: ") || !strings.HasSuffix(sig, "\r\n") {
				t.Fatalf("not a header field: %q", sig)
			}
			verify := func(msg string) error {
				vs, err := dkim.VerifyWithOptions(strings.NewReader(msg), &dkim.VerifyOptions{
					LookupTXT: func(name string) ([]string, error) { return res.LookupTXT(context.Background(), name+".") },
				})
				if err != nil {
					return err
				}
				if len(vs) != 1 {
					return errors.New("not one verification")
				}
				return vs[0].Err
			}
			if err := verify(sig + testMsg); err != nil {
				t.Fatalf("own signature does not verify: %v", err)
			}
			if err := verify(sig + "From: mallory@evil.test\r\n" + testMsg); err == nil {
				t.Error("a second From added after signing still verifies: From not oversigned")
			}
			if err := verify(sig + strings.Replace(testMsg, "Hello", "Jello", 1)); err == nil {
				t.Error("a changed body still verifies")
			}
		})
	}
}

// TestSignHeaderWithoutKey: mail from a domain without a key, or with no
// single From domain, is left unsigned ("" and no error).
func TestSignHeaderWithoutKey(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := NewSigner(SignerOptions{DataDir: dir, Selector: "immp"})
	for _, msg := range []string{
		testMsg,
		"Subject: no from\r\n\r\nx\r\n",
		"From: a@example.org, b@other.test\r\n\r\nx\r\n",
		"From: ../../etc@..\r\n\r\nx\r\n",
	} {
		sig, err := s.SignHeader(context.Background(), []byte(msg))
		if sig != "" || err != nil {
			t.Errorf("%q: got %q, %v", msg, sig, err)
		}
	}
}

// TestKeyStore: keys are 0600 in a 0700 directory; a second keygen for
// the same selector is ErrKeyExists unless forced; a missing key is
// ErrNoKey; a key written is read back identical.
func TestKeyStore(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	priv, _ := GenerateKey(AlgoEd25519)
	k := &Key{Domain: "example.org", Selector: "immp", Signer: priv}
	if err := WriteKey(dir, k, false); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]os.FileMode{
		KeyPath(dir, "example.org", "immp"):       0o600,
		filepath.Join(dir, "dkim", "example.org"): 0o700,
		filepath.Join(dir, "dkim"):                0o700,
	} {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != want {
			t.Errorf("%s: mode %v, want %v", path, fi.Mode().Perm(), want)
		}
	}
	priv2, _ := GenerateKey(AlgoEd25519)
	k2 := &Key{Domain: "example.org", Selector: "immp", Signer: priv2}
	if err := WriteKey(dir, k2, false); !errors.Is(err, ErrKeyExists) {
		t.Fatalf("overwrite without force: %v", err)
	}
	got, err := LoadKey(dir, "Example.ORG.", "immp")
	if err != nil {
		t.Fatal(err)
	}
	if got.RecordValue() != k.RecordValue() {
		t.Error("key changed by a refused overwrite")
	}
	if err := WriteKey(dir, k2, true); err != nil {
		t.Fatal(err)
	}
	if got, _ := LoadKey(dir, "example.org", "immp"); got.RecordValue() != k2.RecordValue() {
		t.Error("forced overwrite did not replace the key")
	}
	if _, err := LoadKey(dir, "other.test", "immp"); !errors.Is(err, ErrNoKey) {
		t.Errorf("missing key: %v", err)
	}
	if sels, _ := Selectors(dir, "example.org"); len(sels) != 1 || sels[0] != "immp" {
		t.Errorf("selectors %v", sels)
	}
	if _, err := NormalizeDomain("../x"); !errors.Is(err, ErrBadDomain) {
		t.Errorf("../x accepted as a domain: %v", err)
	}
}

func TestQuoteTXT(t *testing.T) {
	long := strings.Repeat("a", 300)
	got := QuoteTXT(long)
	if got != `"`+strings.Repeat("a", 255)+`" "`+strings.Repeat("a", 45)+`"` {
		t.Errorf("QuoteTXT: %s", got)
	}
}
