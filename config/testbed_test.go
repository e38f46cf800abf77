package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/immp-mail/immp/internal/chaos"
)

// TestTestbedDefaults: the built-in default is the test-bed profile with
// capture; a config file is neither unless it says so.
func TestTestbedDefaults(t *testing.T) {
	d := Default()
	if !d.Testbed.Enabled || !d.Testbed.Capture {
		t.Fatalf("built-in default: %+v", d.Testbed)
	}
	c, err := Parse([]byte(minimal), "immp.toml")
	if err != nil {
		t.Fatal(err)
	}
	if c.Testbed.Enabled || c.Testbed.Capture || c.HTTP.APITokenFile != "" {
		t.Fatalf("file: %+v", c.Testbed)
	}
}

func TestTestbedChaosRules(t *testing.T) {
	src := minimal + `
[testbed]
enabled = true
capture = true

[[testbed.chaos]]
stage = "rcpt"
code = 451
match = "*@flaky.test"
times = 2

[[testbed.chaos]]
stage = "data"
code = 552
enhanced = "5.2.2"
text = "mailbox full"
probability = 0.5
`
	c, err := Parse([]byte(src), "immp.toml")
	if err != nil {
		t.Fatal(err)
	}
	want := []chaos.Rule{
		{Stage: chaos.Rcpt, Code: 451, Match: "*@flaky.test", Times: 2},
		{Stage: chaos.Data, Code: 552, Enhanced: "5.2.2", Text: "mailbox full", Probability: 0.5},
	}
	if len(c.Testbed.Chaos) != 2 || c.Testbed.Chaos[0] != want[0] || c.Testbed.Chaos[1] != want[1] {
		t.Fatalf("chaos %+v", c.Testbed.Chaos)
	}
	for _, bad := range []string{
		"[[testbed.chaos]]\nstage = \"helo\"\ncode = 451\n",
		"[[testbed.chaos]]\nstage = \"rcpt\"\ncode = 250\n",
		"[[testbed.chaos]]\nstage = \"rcpt\"\ncode = 451\nbogus = 1\n",
	} {
		_, err := Parse([]byte(minimal+"\n"+bad), "immp.toml")
		var ce *Error
		if !errors.As(err, &ce) || !strings.HasPrefix(ce.Key, "testbed.chaos") {
			t.Errorf("%q: %v, want an error naming testbed.chaos", bad, err)
		}
	}
}

func TestAPITokenFile(t *testing.T) {
	dir := t.TempDir()
	short := filepath.Join(dir, "short")
	good := filepath.Join(dir, "good")
	os.WriteFile(short, []byte("abc\n"), 0o600)
	os.WriteFile(good, []byte("0123456789abcdef0123\nignored\n"), 0o600)
	for _, c := range []struct {
		path string
		ok   bool
	}{{short, false}, {filepath.Join(dir, "missing"), false}, {good, true}} {
		_, err := Parse([]byte(minimal+"\n[http]\napi_token_file = "+tomlString(c.path)+"\n"), "immp.toml")
		var ce *Error
		if c.ok && err != nil || !c.ok && (!errors.As(err, &ce) || ce.Key != "http.api_token_file") {
			t.Errorf("%s: %v", c.path, err)
		}
	}
	if tok, err := ReadAPIToken(good); err != nil || tok != "0123456789abcdef0123" {
		t.Fatalf("ReadAPIToken = %q, %v", tok, err)
	}
}
