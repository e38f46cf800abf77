package config

import (
	"fmt"
	"os"
	"strings"

	"github.com/immp-mail/immp/internal/chaos"
)

// Testbed is the [testbed] section: what makes immp an integration test
// bed (docs/testbed.md).
type Testbed struct {
	Enabled bool         `toml:"enabled" doc:"The test-bed profile: the HTTP API under /api/v1/ on [http] listen answers\nwithout a token (unless http.api_token_file is set), and may create and\ndelete accounts and set chaos rules. On in the built-in default; with a\nconfig file off unless set. Never on a server reachable from others."`
	Capture bool         `toml:"capture" doc:"Capture everything: SMTP accepts any recipient at any domain into an\naccount created for that address, and authenticated submission to other\ndomains is stored for its recipients instead of being relayed. On in the\nbuilt-in default; with a config file off unless set."`
	Chaos   []chaos.Rule `toml:"chaos" doc:"SMTP fault injection rules, as [[testbed.chaos]] tables (in place of this\nline) with the keys stage (\"connect\", \"mail\", \"rcpt\" or \"data\"),\ncode (4xx or 5xx), enhanced (\"4.7.1\", optional), text, match (glob on\nthe address, e.g. \"*@flaky.test\"), and times (the next N attempts) or\nprobability (0-1). POST /api/v1/chaos adds more at run time;\nDELETE /api/v1/chaos resets."`
}

// validateTestbed checks [testbed] and http.api_token_file.
func (c *Config) validateTestbed() error {
	for i, r := range c.Testbed.Chaos {
		if err := r.Validate(); err != nil {
			return bad("testbed.chaos", "rule %d: %v", i+1, err)
		}
	}
	if f := c.HTTP.APITokenFile; f != "" {
		if _, err := ReadAPIToken(f); err != nil {
			return bad("http.api_token_file", "%v", err)
		}
	}
	return nil
}

// MinAPITokenLen is the shortest bearer token accepted.
const MinAPITokenLen = 16

// ReadAPIToken reads the bearer token of http.api_token_file: the file's
// first line, at least MinAPITokenLen characters.
func ReadAPIToken(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	tok, _, _ := strings.Cut(string(b), "\n")
	tok = strings.TrimSpace(tok)
	if len(tok) < MinAPITokenLen {
		return "", fmt.Errorf("%s: the token on its first line must be at least %d characters", path, MinAPITokenLen)
	}
	return tok, nil
}
