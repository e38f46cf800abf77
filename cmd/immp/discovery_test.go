package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestConfigDiscoveryOrder: -config, $IMMP_CONFIG, ./immp.toml (not
// tested here: the integration tests run the binary in a directory), the
// system file, the built-in profile; each but -config said on stderr.
func TestConfigDiscoveryOrder(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	sys := filepath.Join(dir, "etc-immp.toml")
	env := filepath.Join(dir, "env.toml")
	for _, p := range []string{sys, env} {
		src := "hostname = \"mx.example.org\"\ndata_dir = \"" + filepath.Join(dir, filepath.Base(p)+".data") + "\"\ndomains = [\"example.org\"]\n"
		if err := os.WriteFile(p, []byte(src), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	check := func(getenv map[string]string, system string, args []string, wantPath, wantNote string) {
		t.Helper()
		var out, errb strings.Builder
		e := cliEnv{ctx: context.Background(), stdin: strings.NewReader(""), stdout: &out, stderr: &errb,
			getenv: func(k string) string { return getenv[k] }, systemConfig: system}
		if code := run(e, append([]string{"config", "check"}, args...)); code != 0 {
			t.Fatalf("exit %d: %s", code, errb.String())
		}
		if !strings.HasPrefix(out.String(), wantPath+": OK\n") || !strings.Contains(errb.String(), wantNote) {
			t.Errorf("%v: stdout %q stderr %q; want %q and %q", args, out.String(), errb.String(), wantPath, wantNote)
		}
		if wantNote == "" && errb.String() != "" {
			t.Errorf("-config was announced: %q", errb.String())
		}
	}
	check(map[string]string{"IMMP_CONFIG": env}, sys, []string{"-config", sys}, sys, "")
	check(map[string]string{"IMMP_CONFIG": env}, sys, nil, env, "using config "+env+" (from $IMMP_CONFIG)")
	check(nil, sys, nil, sys, "immp: using config "+sys+"\n")
	check(nil, filepath.Join(dir, "absent.toml"), nil, "built-in test-bed profile",
		"immp: no config file (-config, $IMMP_CONFIG, ./immp.toml, "+filepath.Join(dir, "absent.toml")+"): using the built-in test-bed profile")
}
