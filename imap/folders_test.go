package imap

import (
	"context"
	"slices"
	"testing"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

func listNames(t testing.TB, c *imapclient.Client, ref, pat string, opts *imap.ListOptions) map[string][]imap.MailboxAttr {
	t.Helper()
	l, err := c.List(ref, pat, opts).Collect()
	if err != nil {
		t.Fatalf("LIST %q %q: %v", ref, pat, err)
	}
	out := map[string][]imap.MailboxAttr{}
	for _, d := range l {
		if d.Delim != '/' {
			t.Errorf("delimiter %q", d.Delim)
		}
		out[d.Mailbox] = d.Attrs
	}
	return out
}

// Folder management over IMAP is subinbox management (profile 6).
func TestFoldersAreSubinboxes(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	acct := e.account("alice@example.org")
	c := e.client("alice@example.org", nil)
	ctx := context.Background()

	if err := c.Create("INBOX/work", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	if err := c.Create("inbox/work/office", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	// Seen by the mailbox layer at once, in address form, as delivery and
	// IMMP VERIFYSUBINBOX see it.
	if got, err := e.store.ResolveSubinbox(ctx, acct, "office/work"); err != nil || got != "INBOX/work/office" {
		t.Errorf("ResolveSubinbox(office/work) = %q, %v", got, err)
	}
	if err := c.Create("INBOX/nope/deeper", nil).Wait(); imapCode(err) != imap.ResponseCodeNonExistent {
		t.Errorf("CREATE without parent: %v, want NONEXISTENT", err)
	}
	if err := c.Create("INBOX/work", nil).Wait(); imapCode(err) != imap.ResponseCodeAlreadyExists {
		t.Errorf("CREATE twice: %v, want ALREADYEXISTS", err)
	}
	if err := c.Delete("INBOX/work").Wait(); imapCode(err) != imap.ResponseCodeInUse {
		t.Errorf("DELETE with children: %v, want INUSE", err)
	}
	if err := c.Delete("INBOX").Wait(); err == nil {
		t.Error("DELETE INBOX succeeded")
	}
	// Folders beside INBOX are ordinary.
	if err := c.Create("Projects", nil).Wait(); err != nil {
		t.Fatal(err)
	}

	all := listNames(t, c, "", "*", nil)
	for _, want := range []string{"INBOX", "INBOX/work", "INBOX/work/office", "Projects"} {
		if _, ok := all[want]; !ok {
			t.Errorf("LIST * lacks %s: %v", want, all)
		}
	}
	if !slices.Contains(all["INBOX/work"], imap.MailboxAttrHasChildren) || !slices.Contains(all["INBOX/work/office"], imap.MailboxAttrHasNoChildren) {
		t.Errorf("children attributes: %v", all)
	}
	for name, attrs := range all {
		for _, a := range []imap.MailboxAttr{imap.MailboxAttrSent, imap.MailboxAttrDrafts, imap.MailboxAttrTrash, imap.MailboxAttrJunk, imap.MailboxAttrArchive} {
			if slices.Contains(attrs, a) {
				delete(all, name)
				all[string(a)] = nil
			}
		}
	}
	t.Logf("special-use folders listed: %v", all)

	if top := listNames(t, c, "", "%", nil); len(top) == 0 || top["INBOX/work"] != nil {
		t.Errorf("LIST %% = %v", top)
	}
	if sub := listNames(t, c, "inbox/", "%", nil); len(sub) != 1 || sub["INBOX/work"] == nil {
		t.Errorf(`LIST "inbox/" "%%" = %v`, sub)
	}
	d, err := c.List("", "", nil).Collect()
	if err != nil || len(d) != 1 || d[0].Mailbox != "" || d[0].Delim != '/' {
		t.Errorf(`LIST "" "" = %+v, %v`, d, err)
	}

	// LIST-STATUS.
	e.deliver(acct, "INBOX/work", "for work")
	ls, err := c.List("", "INBOX/work", &imap.ListOptions{ReturnStatus: &imap.StatusOptions{NumMessages: true, Size: true}}).Collect()
	if err != nil || len(ls) != 1 || ls[0].Status == nil || *ls[0].Status.NumMessages != 1 {
		t.Errorf("LIST-STATUS = %+v, %v", ls, err)
	}

	// SUBSCRIBE is kept by the mailbox layer.
	if err := c.Subscribe("INBOX/work").Wait(); err != nil {
		t.Fatal(err)
	}
	subs := listNames(t, c, "", "*", &imap.ListOptions{SelectSubscribed: true})
	if _, ok := subs["INBOX/work"]; !ok {
		t.Errorf("LIST (SUBSCRIBED) = %v", subs)
	}
	infos, err := e.store.Folders(ctx, acct)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range infos {
		if f.Name == "INBOX/work" && !f.Subscribed {
			t.Error("store does not know the subscription")
		}
	}
	if err := c.Unsubscribe("INBOX/work").Wait(); err != nil {
		t.Fatal(err)
	}

	// RENAME moves children along; delivery follows the new name.
	if err := c.Rename("INBOX/work", "INBOX/job", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	if got, err := e.store.ResolveSubinbox(ctx, acct, "office/job"); err != nil || got != "INBOX/job/office" {
		t.Errorf("after RENAME: ResolveSubinbox(office/job) = %q, %v", got, err)
	}
	if err := c.Delete("INBOX/job/office").Wait(); err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.ResolveSubinbox(ctx, acct, "office/job"); err == nil {
		t.Error("deleted subinbox still resolves")
	}
	// The reverse direction: a subinbox made by the layer (as IMMP does)
	// is listed over IMAP at once.
	if err := e.store.CreateFolder(ctx, acct, "INBOX/home"); err != nil {
		t.Fatal(err)
	}
	if l := listNames(t, c, "", "INBOX/home", nil); l["INBOX/home"] == nil {
		t.Errorf("subinbox made by the layer not listed: %v", l)
	}
}

// A session with a folder selected keeps working while another session
// deletes that folder: commands answer NO, nothing panics.
func TestSelectedFolderDeleted(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	acct := e.account("alice@example.org")
	a := e.client("alice@example.org", nil)
	b := e.client("alice@example.org", nil)
	if err := a.Create("INBOX/tmp", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	e.deliver(acct, "INBOX/tmp", "x")
	if _, err := a.Select("INBOX/tmp", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	if err := b.Delete("INBOX/tmp").Wait(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool {
		_, err := a.Fetch(imap.SeqSetNum(1), &imap.FetchOptions{UID: true}).Collect()
		return err != nil
	})
	if _, err := a.Select("INBOX", nil).Wait(); err != nil {
		t.Fatalf("session unusable after its folder was deleted: %v", err)
	}
}

// A session keeps its selection while another renames the folder: the
// mailbox layer's handle and events follow the rename (RFC 9051 6.3.6).
func TestSelectedFolderRenamed(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	acct := e.account("alice@example.org")
	cnt := newCounter()
	a := e.client("alice@example.org", cnt.handler())
	b := e.client("alice@example.org", nil)
	if err := a.Create("INBOX/old", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	e.deliver(acct, "INBOX/old", "before")
	if _, err := a.Select("INBOX/old", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	if err := b.Rename("INBOX/old", "INBOX/new", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	e.deliver(acct, "INBOX/new", "after")
	waitFor(t, func() bool { return a.Noop().Wait() == nil && a.Mailbox().NumMessages == 2 })
	msgs, err := a.Fetch(imap.SeqSetNum(2), &imap.FetchOptions{Envelope: true}).Collect()
	if err != nil || len(msgs) != 1 || msgs[0].Envelope.Subject != "after" {
		t.Fatalf("FETCH after rename = %+v, %v", msgs, err)
	}
	// A new selection of the new name agrees.
	sel, err := b.Select("INBOX/new", nil).Wait()
	if err != nil || sel.NumMessages != 2 {
		t.Errorf("SELECT INBOX/new = %+v, %v", sel, err)
	}
}
