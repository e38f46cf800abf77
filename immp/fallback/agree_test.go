package fallback

import (
	"context"
	"log/slog"
	"net"
	"slices"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/immp-mail/immp/delivery/address"
	"github.com/immp-mail/immp/delivery/guard"
	"github.com/immp-mail/immp/immp"
	"github.com/immp-mail/immp/immp/client"
	"github.com/immp-mail/immp/internal/foldername"
	"github.com/immp-mail/immp/maildir"
)

// startIMMP runs the real IMMP server over the store the IMAP server uses.
func startIMMP(t *testing.T, store *maildir.Store) string {
	t.Helper()
	mapper := address.Mapper{Domains: []string{"example.org"}}
	g, err := guard.New(guard.Options{Store: store, Mapper: mapper})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := immp.New(immp.Options{Logger: slog.New(slog.DiscardHandler), Store: store, Guard: g, Mapper: mapper})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	})
	return ln.Addr().String()
}

// TestListAgrees runs the same LIST queries through the three paths, each
// over real sockets: the IMMP server, the fallback client speaking IMAP to
// the IMAP server, and the IMAP server's own LIST. The IMMP server and the
// fallback client give the same names in the same order, the expected
// ones; where the query is in absolute form, which IMAP LIST shares, IMAP
// lists the same folders with the same children flags. The tree is made
// through all paths, with nested subinboxes, "&", non-ASCII, mixed case
// and a subinbox named like INBOX's prefix.
func TestListAgrees(t *testing.T) {
	t.Parallel()
	store, acct, imapAddr := startIMAP(t)
	immpAddr := startIMMP(t, store)
	ctx := context.Background()
	opts := Options{IMMPAddr: immpAddr, IMAPAddr: imapAddr, User: "alice@example.org", Password: password}
	viaIMMP, fell, err := Dial(ctx, opts)
	if err != nil || fell {
		t.Fatalf("IMMP: %v, fell back %v", err, fell)
	}
	defer viaIMMP.Close()
	opts.IMMPAddr = closedPort(t)
	viaIMAP, fell, err := Dial(ctx, opts)
	if err != nil || !fell {
		t.Fatalf("fallback: %v, fell back %v", err, fell)
	}
	defer viaIMAP.Close()
	imapc, err := imapclient.DialInsecure(imapAddr, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer imapc.Close()
	if err := imapc.Login("alice@example.org", password).Wait(); err != nil {
		t.Fatal(err)
	}
	immpc, err := client.Dial(ctx, immpAddr, client.Options{User: "alice@example.org", Password: password})
	if err != nil {
		t.Fatal(err)
	}
	defer immpc.Close()

	for _, n := range []string{"work", "office/work", "desk/office/work", "a&b", "c&d/a&b", "inboxes"} {
		if err := viaIMMP.Create(ctx, n); err != nil {
			t.Fatalf("IMMP CREATE %s: %v", n, err)
		}
	}
	for _, n := range []string{"Mail", "foo/Mail", "meetings/Mail", "R&D", "Bücher", "été/Bücher"} {
		if err := viaIMAP.Create(ctx, n); err != nil {
			t.Fatalf("fallback CREATE %s: %v", n, err)
		}
	}
	for _, n := range []string{"Sent2/sub", "INBOXes"} { // beside INBOX: no subinboxes
		if err := store.CreateFolder(ctx, acct, n); err != nil {
			t.Fatal(err)
		}
	}

	all := []string{"Bücher+", "Mail+", "R&D-", "a&b+", "c&d/a&b-", "desk/office/work-", "foo/Mail-",
		"inboxes-", "meetings/Mail-", "office/work+", "work+", "été/Bücher-"}
	allAbs := []string{"INBOX/Bücher+", "INBOX/Bücher/été-", "INBOX/Mail+", "INBOX/Mail/foo-", "INBOX/Mail/meetings-",
		"INBOX/R&D-", "INBOX/a&b+", "INBOX/a&b/c&d-", "INBOX/inboxes-", "INBOX/work+", "INBOX/work/office+",
		"INBOX/work/office/desk-"}
	for _, q := range []struct {
		ref, pat string
		want     []string // name sent, "+" with children, "-" without
	}{
		{"", "*", all},
		{"", "%", []string{"Bücher+", "Mail+", "R&D-", "a&b+", "inboxes-", "work+"}},
		{"", "%/work", []string{"office/work+"}},
		{"work", "%", []string{"office/work+"}},
		{"WORK/", "*", []string{"desk/office/WORK-", "office/WORK+"}},
		{"office/work", "%", []string{"desk/office/work-"}},
		{"work", "desk/%", []string{"desk/office/work-"}},
		{"a&b", "*", []string{"c&d/a&b-"}},
		{"", "*&*", []string{"R&D-", "a&b+", "c&d/a&b-"}},
		{"", "inboxes", []string{"inboxes-"}},
		{"", "bü*", []string{"Bücher+"}},
		{"bücher", "%", []string{"été/bücher-"}},
		{"", "É*", []string{"été/Bücher-"}},
		{"nothere", "*", nil},
		{"", "Sent*", nil},
		{"inbox/Mail/", "%", []string{"inbox/Mail/foo-", "inbox/Mail/meetings-"}},
		{"INBOX/work/", "%", []string{"INBOX/work/office+"}},
		{"INBOX/work", "%", []string{"INBOX/work+"}},
		{"INBOX/", "*", allAbs},
		{"INBOX", "*", append([]string{"INBOX+"}, allAbs...)},
		{"", "INBOX", []string{"INBOX+"}},
		{"", "inbox", []string{"INBOX+"}},
		{"", "InBoX/w*", []string{"INBOX/work+", "INBOX/work/office+", "INBOX/work/office/desk-"}},
		{"", "INBOX/%/%", []string{"INBOX/Bücher/été-", "INBOX/Mail/foo-", "INBOX/Mail/meetings-", "INBOX/a&b/c&d-", "INBOX/work/office+"}},
		{"", "INBOX*", append([]string{"INBOX+"}, allAbs...)},
		{"inbox/a&b/", "%", []string{"inbox/a&b/c&d-"}},
		{"inbox/a&b", "*", []string{"inbox/a&b+", "inbox/a&b/c&d-"}},
		{"", "INBOX/*&*", []string{"INBOX/R&D-", "INBOX/a&b+", "INBOX/a&b/c&d-"}},
		{"", "INBOX/BÜCHER/%", []string{"INBOX/Bücher/été-"}},
	} {
		items, err := immpc.ListItems(ctx, q.ref, q.pat)
		if err != nil {
			t.Fatalf("IMMP LIST %q %q: %v", q.ref, q.pat, err)
		}
		var got, names []string
		for _, it := range items {
			mark := "-"
			if slices.Contains(it.Flags, `\HasChildren`) {
				mark = "+"
			}
			got = append(got, it.Name+mark)
			names = append(names, it.Name)
		}
		if !slices.Equal(got, q.want) {
			t.Errorf("IMMP LIST %q %q = %q, want %q", q.ref, q.pat, got, q.want)
		}
		for path, m := range map[string]client.SubinboxManager{"IMMP": viaIMMP, "fallback": viaIMAP} {
			if l, err := m.List(ctx, q.ref, q.pat); err != nil || !slices.Equal(l, names) {
				t.Errorf("%s List %q %q = %q, %v; IMMP LIST says %q", path, q.ref, q.pat, l, err, names)
			}
		}
		if !foldername.AbsoluteList(q.ref, q.pat) {
			continue
		}
		// IMAP LIST: the same folders (compared as stored, ignoring the
		// echoed spelling), the same children.
		var fromIMMP, fromIMAP []string
		for _, g := range got {
			abs, err := foldername.SubinboxName(g[:len(g)-1])
			if err != nil {
				t.Fatal(err)
			}
			fromIMMP = append(fromIMMP, foldername.Fold(abs)+g[len(g)-1:])
		}
		boxes, err := imapc.List(q.ref, q.pat, nil).Collect()
		if err != nil {
			t.Fatalf("IMAP LIST %q %q: %v", q.ref, q.pat, err)
		}
		for _, b := range boxes {
			if !foldername.IsSubinbox(b.Mailbox) || slices.Contains(b.Attrs, imap.MailboxAttrNoSelect) {
				continue
			}
			mark := "-"
			if slices.Contains(b.Attrs, imap.MailboxAttrHasChildren) {
				mark = "+"
			}
			fromIMAP = append(fromIMAP, foldername.Fold(b.Mailbox)+mark)
		}
		slices.Sort(fromIMMP)
		slices.Sort(fromIMAP)
		if !slices.Equal(fromIMMP, fromIMAP) {
			t.Errorf("LIST %q %q: IMAP lists %q, IMMP %q", q.ref, q.pat, fromIMAP, fromIMMP)
		}
	}
	// Names over IMAP are what IMMP made, and the reverse.
	boxes, err := imapc.List("", "INBOX/*&*", nil).Collect()
	if err != nil {
		t.Fatal(err)
	}
	var imapNames []string
	for _, b := range boxes {
		imapNames = append(imapNames, b.Mailbox)
	}
	if want := []string{"INBOX/R&D", "INBOX/a&b", "INBOX/a&b/c&d"}; !slices.Equal(imapNames, want) {
		t.Errorf("IMAP LIST INBOX/*&* = %q, want %q", imapNames, want)
	}
}
