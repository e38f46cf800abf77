package main

import (
	"context"
	"strings"
	"testing"

	"github.com/immp-mail/immp/config"
	"github.com/immp-mail/immp/internal/syncbuf"
)

// serve says at startup where postmaster mail goes (RFC 5321 4.5.1),
// loudly when that is not the configured account.
func TestPostmasterReport(t *testing.T) {
	t.Parallel()
	path, _ := writeConfig(t, "[smtp]\nlisten = \"127.0.0.1:0\"\npostmaster = \"ops@example.org\"\n")
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	start := func() string {
		t.Helper()
		logs := new(syncbuf.Buffer)
		d, err := startDaemon(context.Background(), cfg, newLogger(cfg.Log, logs))
		if err != nil {
			t.Fatal(err)
		}
		d.Close()
		return logs.String()
	}
	if log := start(); !strings.Contains(log, "level=WARN msg=\"no account exists: mail to postmaster@ is refused until ops@example.org (or any account) is created\"") {
		t.Errorf("no account:\n%s", log)
	}
	for _, a := range []string{"alice@example.org", "bob@example.org"} {
		if _, errOut, code := cli(t, "pw\n", "user", "add", "-config", path, a); code != 0 {
			t.Fatal(errOut)
		}
	}
	if log := start(); !strings.Contains(log, "level=WARN msg=\"account ops@example.org does not exist: postmaster mail goes to the oldest account instead; create it, or set smtp.postmaster\" to=alice@example.org") {
		t.Errorf("fallback:\n%s", log)
	}
	if _, errOut, code := cli(t, "pw\n", "user", "add", "-config", path, "ops@example.org"); code != 0 {
		t.Fatal(errOut)
	}
	if log := start(); !strings.Contains(log, "level=INFO msg=\"postmaster mail goes to ops@example.org\"") {
		t.Errorf("configured:\n%s", log)
	}
}
