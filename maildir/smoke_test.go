package maildir

import (
	"context"
	"testing"
)

func TestSmoke(t *testing.T) {
	s := openStore(t, Options{})
	ctx := context.Background()
	a := newAccount(t, s, "Alice@Example.org")
	if a.Address != "alice@example.org" {
		t.Fatal(a.Address)
	}
	t.Log(folderNames(t, s, a))
	if err := s.CreateFolder(ctx, a, "INBOX/work"); err != nil {
		t.Fatal(err)
	}
	ds := deliver(t, s, "Subject: hi\n\nbody\n", a, "INBOX", a, "INBOX/work")
	t.Log(ds)
	f := mustOpen(t, s, a, "INBOX/work")
	ms := messages(t, f)
	t.Log(ms)
	t.Log(readMsg(t, f, ms[0].UID))
	if _, err := f.StoreFlags(ctx, []uint32{ms[0].UID}, FlagsAdd, []string{`\Seen`, "$Label1"}); err != nil {
		t.Fatal(err)
	}
	t.Log(messages(t, f))
}
