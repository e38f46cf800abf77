package integration

import (
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// Clients that sync subscribed folders only (offlineimap's subscribedonly,
// many phone clients) ask LSUB: INBOX, subinboxes made over IMMP (the
// CLI) and over IMAP, and special-use folders made over IMAP must all be
// there. Python's imaplib asks, as such a client would.
func TestSubscribedOnlyClientSeesFolders(t *testing.T) {
	t.Parallel()
	py := needTool(t, "python3")
	s := startServer(t, serverOptions{})
	s.addUser(t, "alice@example.org", "pw-lsub")
	env := []string{"IMMP_PASSWORD=pw-lsub"}
	if out, errOut, code := s.immp(t, "", env, "subinbox", "create", "-immp", s.addrs["immp"], "-imap", s.addrs["imap"],
		"-user", "alice@example.org", "work"); code != 0 {
		t.Fatalf("subinbox create: %d\n%s\n%s", code, out, errOut)
	}
	script := `
import imaplib, sys
host, port = sys.argv[1].rsplit(":", 1)
m = imaplib.IMAP4(host, int(port))
m.login("alice@example.org", "pw-lsub")
for name in ("INBOX/home", "Sent", "Archive"):
    typ, _ = m.create(name); print("CREATE", name, typ)
typ, data = m.lsub('""', "*")
for d in data: print("LSUB", d.decode())
m.logout()
`
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, py, "-c", script, s.addrs["imap"]).CombinedOutput()
	if err != nil {
		t.Fatalf("imaplib: %v\n%s", err, out)
	}
	for _, name := range []string{"INBOX", "INBOX/work", "INBOX/home", "Sent", "Archive"} {
		found := false
		for _, l := range strings.Split(string(out), "\n") {
			if strings.HasPrefix(l, "LSUB ") && (strings.HasSuffix(l, ` "/" `+name) || strings.HasSuffix(l, ` "/" "`+name+`"`)) {
				found = true
			}
		}
		if !found {
			t.Errorf("LSUB lacks %s:\n%s", name, out)
		}
	}
}
