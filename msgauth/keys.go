package msgauth

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Key algorithms of "immp dkim keygen -algo".
const (
	AlgoRSA     = "rsa"     // RSA-2048 (RFC 6376 3.3.3: 1024 to 4096 bits; 8301 3.2: at least 1024)
	AlgoEd25519 = "ed25519" // RFC 8463
)

// RSABits is the size of a generated RSA key.
const RSABits = 2048

// Errors of the key store.
var (
	ErrNoKey     = errors.New("no DKIM key")
	ErrKeyExists = errors.New("a DKIM key already exists")
	ErrBadDomain = errors.New("not a domain name")
)

// Key is one domain's signing key under one selector.
type Key struct {
	Domain   string // lower case, no trailing dot
	Selector string
	Signer   crypto.Signer // *rsa.PrivateKey or ed25519.PrivateKey
}

// Algo is AlgoRSA or AlgoEd25519.
func (k *Key) Algo() string {
	if _, ok := k.Signer.(ed25519.PrivateKey); ok {
		return AlgoEd25519
	}
	return AlgoRSA
}

// RecordName is where the public key is published (RFC 6376 3.6.2.1):
// SELECTOR._domainkey.DOMAIN.
func (k *Key) RecordName() string { return k.Selector + "._domainkey." + k.Domain }

// RecordValue is the TXT record's text (RFC 6376 3.6.1): for RSA the
// SubjectPublicKeyInfo in base64, for Ed25519 the raw 32-octet public key
// (RFC 8463 4.2).
func (k *Key) RecordValue() string {
	var p []byte
	switch pub := k.Signer.Public().(type) {
	case ed25519.PublicKey:
		p = pub
	default:
		p, _ = x509.MarshalPKIXPublicKey(pub) // an *rsa.PublicKey always marshals
	}
	return "v=DKIM1; k=" + k.Algo() + "; p=" + base64.StdEncoding.EncodeToString(p)
}

// ZoneLine is the record as a zone-file line: TXT character-strings are at
// most 255 octets (RFC 1035 3.3.14), so a long value is split into several
// quoted strings, which a verifier concatenates (RFC 6376 3.6.2.2).
func (k *Key) ZoneLine() string {
	return k.RecordName() + ". IN TXT " + QuoteTXT(k.RecordValue())
}

// QuoteTXT writes s as one or more zone-file character-strings of at most
// 255 octets each.
func QuoteTXT(s string) string {
	var parts []string
	for len(s) > 255 {
		parts = append(parts, `"`+s[:255]+`"`)
		s = s[255:]
	}
	parts = append(parts, `"`+s+`"`)
	return strings.Join(parts, " ")
}

// NormalizeDomain lower-cases d, drops a trailing dot and checks that it
// is a host name (letters, digits, '-', '_' in dot-separated labels): it
// names a directory, so nothing else may pass.
func NormalizeDomain(d string) (string, error) {
	d = strings.ToLower(strings.TrimSuffix(strings.TrimSpace(d), "."))
	if d == "" || len(d) > 253 {
		return "", fmt.Errorf("%w: %q", ErrBadDomain, d)
	}
	for _, l := range strings.Split(d, ".") {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return "", fmt.Errorf("%w: %q", ErrBadDomain, d)
		}
		for i := 0; i < len(l); i++ {
			c := l[i]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return "", fmt.Errorf("%w: %q", ErrBadDomain, d)
			}
		}
	}
	return d, nil
}

// KeyDir is the directory of DKIM keys: <data_dir>/dkim.
func KeyDir(dataDir string) string { return filepath.Join(dataDir, "dkim") }

// KeyPath is where a key lives: <data_dir>/dkim/<domain>/<selector>.key,
// PKCS#8 in PEM. domain and selector must be checked first.
func KeyPath(dataDir, domain, selector string) string {
	return filepath.Join(KeyDir(dataDir), domain, selector+".key")
}

// GenerateKey makes a new key for algo (AlgoRSA or AlgoEd25519).
func GenerateKey(algo string) (crypto.Signer, error) {
	switch algo {
	case AlgoRSA, "":
		return rsa.GenerateKey(rand.Reader, RSABits)
	case AlgoEd25519:
		_, priv, err := ed25519.GenerateKey(rand.Reader)
		return priv, err
	}
	return nil, fmt.Errorf("unknown key algorithm %q (want %q or %q)", algo, AlgoRSA, AlgoEd25519)
}

// WriteKey stores k durably (mode 0600, directories 0700). An existing key
// under the same domain and selector is ErrKeyExists unless force is set.
// The file is written beside its final name, fsynced and renamed, so a
// reader sees the old key or the new one, never half of one.
func WriteKey(dataDir string, k *Key, force bool) error {
	der, err := x509.MarshalPKCS8PrivateKey(k.Signer)
	if err != nil {
		return err
	}
	path := KeyPath(dataDir, k.Domain, k.Selector)
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	for _, d := range []string{KeyDir(dataDir), dir} {
		if err := os.Chmod(d, 0o700); err != nil {
			return err
		}
	}
	if !force {
		if _, err := os.Lstat(path); err == nil {
			return fmt.Errorf("%w for %s (selector %s): %s", ErrKeyExists, k.Domain, k.Selector, path)
		}
	}
	tmp, err := os.CreateTemp(dir, ".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	if err := pem.Encode(tmp, &pem.Block{Type: "PRIVATE KEY", Bytes: der}); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if !force {
		// Link fails if the name appeared meanwhile: never overwrite.
		if err := os.Link(tmp.Name(), path); err != nil {
			if errors.Is(err, fs.ErrExist) {
				return fmt.Errorf("%w for %s (selector %s): %s", ErrKeyExists, k.Domain, k.Selector, path)
			}
			return err
		}
	} else if err := os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	return syncDir(dir)
}

func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}

// LoadKey reads the key of domain under selector; ErrNoKey if there is
// none.
func LoadKey(dataDir, domain, selector string) (*Key, error) {
	domain, err := NormalizeDomain(domain)
	if err != nil {
		return nil, err
	}
	if strings.ContainsAny(selector, "/\\") || selector == "" || strings.HasPrefix(selector, ".") {
		return nil, fmt.Errorf("bad selector %q", selector)
	}
	path := KeyPath(dataDir, domain, selector)
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w for %s (selector %s)", ErrNoKey, domain, selector)
	}
	if err != nil {
		return nil, err
	}
	blk, _ := pem.Decode(b)
	if blk == nil || blk.Type != "PRIVATE KEY" {
		return nil, fmt.Errorf("%s: not a PEM PRIVATE KEY", path)
	}
	priv, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	signer, ok := priv.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("%s: unsupported key type %T", path, priv)
	}
	switch signer.(type) {
	case *rsa.PrivateKey, ed25519.PrivateKey:
	default:
		return nil, fmt.Errorf("%s: unsupported key type %T (DKIM signs with RSA or Ed25519)", path, priv)
	}
	return &Key{Domain: domain, Selector: selector, Signer: signer}, nil
}

// Selectors lists the selectors that have a key for domain.
func Selectors(dataDir, domain string) ([]string, error) {
	domain, err := NormalizeDomain(domain)
	if err != nil {
		return nil, err
	}
	ents, err := os.ReadDir(filepath.Join(KeyDir(dataDir), domain))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range ents {
		if n, ok := strings.CutSuffix(e.Name(), ".key"); ok && !strings.HasPrefix(n, ".") {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out, nil
}
