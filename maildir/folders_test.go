package maildir

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"

	"github.com/immp-mail/immp/internal/foldername"
)

// treeStore makes an account with INBOX/work, INBOX/work/office,
// INBOX/home and one message in each of INBOX and INBOX/work.
func treeStore(t *testing.T) (*Store, Account) {
	t.Helper()
	s := openStore(t, Options{NoSync: true})
	a := newAccount(t, s, "alice@example.org")
	ctx := context.Background()
	for _, n := range []string{"INBOX/work", "INBOX/work/office", "INBOX/home"} {
		if err := s.CreateFolder(ctx, a, n); err != nil {
			t.Fatalf("CreateFolder(%s): %v", n, err)
		}
	}
	deliver(t, s, "Subject: inbox\r\n\r\nx\r\n", a, "INBOX")
	deliver(t, s, "Subject: work\r\n\r\nx\r\n", a, "INBOX/work")
	return s, a
}

func TestAccountDefaults(t *testing.T) {
	t.Parallel()
	s := openStore(t, Options{NoSync: true})
	a := newAccount(t, s, "Bob@Example.ORG")
	ctx := context.Background()
	fs, err := s.Folders(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	want := []FolderInfo{
		{"INBOX", "", true},
		{"Archive", `\Archive`, true}, {"Drafts", `\Drafts`, true}, {"Junk", `\Junk`, true},
		{"Sent", `\Sent`, true}, {"Trash", `\Trash`, true},
	}
	if !reflect.DeepEqual(fs, want) {
		t.Fatalf("Folders = %v, want %v", fs, want)
	}
	agents, err := s.Agents(ctx, a)
	if err != nil || !reflect.DeepEqual(agents, []string{"bob@example.org"}) {
		t.Fatalf("Agents = %v, %v", agents, err)
	}
	root := s.AccountDir(a)
	if root != filepath.Join(s.DataDir(), "mail", "example.org", "bob", "Maildir") {
		t.Fatalf("AccountDir = %s", root)
	}
	for _, p := range []string{"cur", "new", "tmp", "dovecot-uidlist", "dovecot-uidvalidity", "subscriptions",
		".Sent/maildirfolder", ".Sent/cur", ".Sent/dovecot-uidlist"} {
		if _, err := os.Stat(filepath.Join(root, p)); err != nil {
			t.Errorf("missing %s: %v", p, err)
		}
	}
	// Distinct UIDVALIDITY per folder.
	seen := map[uint32]string{}
	for _, f := range fs {
		st, err := mustOpen(t, s, a, f.Name).Status(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if o, dup := seen[st.UIDValidity]; dup {
			t.Errorf("%s and %s share UIDVALIDITY %d", o, f.Name, st.UIDValidity)
		}
		seen[st.UIDValidity] = f.Name
		if st.UIDNext != 1 || st.Messages != 0 {
			t.Errorf("%s: status %+v", f.Name, st)
		}
	}
}

func TestCreateFolder(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		err  error
		want string // the folder that then exists
	}{
		{"INBOX/new", nil, "INBOX/new"},
		{"inbox/work/office/deep", nil, "INBOX/work/office/deep"},
		{"INBOX/WORK/x", nil, "INBOX/work/x"}, // parent found case-insensitively
		{"INBOX/work/", nil, ""},
		{"INBOX", ErrInbox, ""},
		{"inbox", ErrAlreadyExists, ""},
		{"INBOX/work", ErrAlreadyExists, ""},
		{"INBOX/Work", ErrAlreadyExists, ""}, // differs only in case
		{"INBOX/nope/x", ErrNonexistent, ""},
		{"INBOX/a..b", nil, "INBOX/a..b"},
		{"INBOX/..", ErrInvalidName, ""},
		{"INBOX//x", ErrInvalidName, ""},
		{"INBOX/a\x01", ErrInvalidName, ""},
		{"Sent", ErrAlreadyExists, ""},
		{"Lists/go/nuts", nil, "Lists/go/nuts"}, // outside INBOX: parents made
		{"My.Folder", nil, "My.Folder"},
		{"INBOX/" + string(make([]byte, 0)) + "x" + string(rune(0x263a)), nil, "INBOX/x☺"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, a := treeStore(t)
			err := s.CreateFolder(context.Background(), a, tt.name)
			if tt.name == "INBOX/work/" {
				wantErr(t, err, ErrAlreadyExists)
				return
			}
			wantErr(t, err, tt.err)
			if tt.want != "" && !slices.Contains(folderNames(t, s, a), tt.want) {
				t.Fatalf("%s not listed: %v", tt.want, folderNames(t, s, a))
			}
		})
	}
}

func TestCreateParentsOutsideInbox(t *testing.T) {
	t.Parallel()
	s, a := treeStore(t)
	if err := s.CreateFolder(context.Background(), a, "Lists/go"); err != nil {
		t.Fatal(err)
	}
	names := folderNames(t, s, a)
	if !slices.Contains(names, "Lists") || !slices.Contains(names, "Lists/go") {
		t.Fatal(names)
	}
}

func TestDeleteFolder(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		err  error
	}{
		{"INBOX", ErrInbox},
		{"inbox", ErrInbox},
		{"INBOX/work", ErrHasChildren},
		{"INBOX/nope", ErrNonexistent},
		{"INBOX/work/office", nil},
		{"inbox/WORK/Office", nil},
		{"INBOX/home", nil},
		{"Sent", nil},
		{"INBOX/../x", ErrInvalidName},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, a := treeStore(t)
			before := folderNames(t, s, a)
			err := s.DeleteFolder(context.Background(), a, tt.name)
			wantErr(t, err, tt.err)
			after := folderNames(t, s, a)
			if tt.err != nil && !reflect.DeepEqual(before, after) {
				t.Fatalf("failed delete changed the tree: %v -> %v", before, after)
			}
			if tt.err == nil && len(after) != len(before)-1 {
				t.Fatalf("nothing deleted: %v", after)
			}
		})
	}
}

func TestDeleteFolderTakesMessages(t *testing.T) {
	t.Parallel()
	s, a := treeStore(t)
	ctx := context.Background()
	if err := s.DeleteFolder(ctx, a, "INBOX/work/office"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteFolder(ctx, a, "INBOX/work"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(s.AccountDir(a), ".INBOX.work")); !os.IsNotExist(err) {
		t.Fatalf("folder dir still there: %v", err)
	}
	_, err := s.OpenFolder(ctx, a, "INBOX/work")
	wantErr(t, err, ErrNonexistent)
	// Created again: a new UIDVALIDITY, no messages.
	if err := s.CreateFolder(ctx, a, "INBOX/work"); err != nil {
		t.Fatal(err)
	}
	if ms := messages(t, mustOpen(t, s, a, "INBOX/work")); len(ms) != 0 {
		t.Fatalf("messages survived: %v", ms)
	}
}

func TestRenameFolder(t *testing.T) {
	t.Parallel()
	tests := []struct {
		old, new string
		err      error
		want     []string // folders that must exist after
		gone     []string
	}{
		{"INBOX/work", "INBOX/job", nil, []string{"INBOX/job", "INBOX/job/office"}, []string{"INBOX/work", "INBOX/work/office"}},
		{"INBOX/work/office", "INBOX/home/office", nil, []string{"INBOX/home/office"}, []string{"INBOX/work/office"}},
		{"INBOX/work", "INBOX/Work", nil, []string{"INBOX/Work", "INBOX/Work/office"}, []string{"INBOX/work"}}, // case only
		{"inbox/WORK", "INBOX/job", nil, []string{"INBOX/job"}, nil},
		{"INBOX/work", "INBOX/home", ErrAlreadyExists, nil, nil},
		{"INBOX/work", "INBOX/HOME", ErrAlreadyExists, nil, nil},
		{"INBOX/nope", "INBOX/x", ErrNonexistent, nil, nil},
		{"INBOX/work", "INBOX/nope/x", ErrNonexistent, nil, nil},
		{"INBOX/work", "INBOX/work/office/x", ErrInsideItself, nil, nil},
		{"INBOX/work", "INBOX/work/y", ErrInsideItself, nil, nil},
		{"INBOX/work", "INBOX", ErrInbox, nil, nil},
		{"INBOX/work", "inbox", ErrInbox, nil, nil},
		{"INBOX/work", "INBOX/a/..", ErrInvalidName, nil, nil},
		{"Sent", "Sent Items", nil, []string{"Sent Items"}, []string{"Sent"}},
		{"INBOX/work", "Work", nil, []string{"Work", "Work/office"}, []string{"INBOX/work"}},
	}
	for _, tt := range tests {
		t.Run(tt.old+"->"+tt.new, func(t *testing.T) {
			t.Parallel()
			s, a := treeStore(t)
			before := folderNames(t, s, a)
			err := s.RenameFolder(context.Background(), a, tt.old, tt.new)
			wantErr(t, err, tt.err)
			names := folderNames(t, s, a)
			if tt.err != nil && !reflect.DeepEqual(before, names) {
				t.Fatalf("failed rename changed the tree: %v", names)
			}
			for _, w := range tt.want {
				if !slices.Contains(names, w) {
					t.Errorf("%s missing: %v", w, names)
				}
			}
			for _, g := range tt.gone {
				if slices.Contains(names, g) {
					t.Errorf("%s still there: %v", g, names)
				}
			}
		})
	}
}

func TestRenameKeepsMessagesAndUIDs(t *testing.T) {
	t.Parallel()
	s, a := treeStore(t)
	ctx := context.Background()
	f := mustOpen(t, s, a, "INBOX/work")
	st1, _ := f.Status(ctx)
	if err := s.RenameFolder(ctx, a, "INBOX/work", "INBOX/job"); err != nil {
		t.Fatal(err)
	}
	if f.Name() != "INBOX/job" {
		t.Fatalf("handle did not follow: %s", f.Name())
	}
	g := mustOpen(t, s, a, "INBOX/job")
	st2, _ := g.Status(ctx)
	if st1 != st2 || st2.Messages != 1 {
		t.Fatalf("status changed: %+v -> %+v", st1, st2)
	}
	if got := readMsg(t, g, messages(t, g)[0].UID); got != "Subject: work\r\n\r\nx\r\n" {
		t.Fatalf("body %q", got)
	}
}

func TestRenameInbox(t *testing.T) {
	t.Parallel()
	s, a := treeStore(t)
	ctx := context.Background()
	inbox := mustOpen(t, s, a, "INBOX")
	uidBefore, _ := inbox.Status(ctx)
	if err := s.RenameFolder(ctx, a, "INBOX", "INBOX/old"); err != nil {
		t.Fatal(err)
	}
	if ms := messages(t, inbox); len(ms) != 0 {
		t.Fatalf("INBOX not empty: %v", ms)
	}
	old := mustOpen(t, s, a, "INBOX/old")
	ms := messages(t, old)
	if len(ms) != 1 || readMsg(t, old, ms[0].UID) != "Subject: inbox\r\n\r\nx\r\n" {
		t.Fatalf("messages not moved: %v", ms)
	}
	// Children stay; UIDs in INBOX keep growing.
	names := folderNames(t, s, a)
	for _, n := range []string{"INBOX/work", "INBOX/work/office", "INBOX/home"} {
		if !slices.Contains(names, n) {
			t.Fatalf("%s lost: %v", n, names)
		}
	}
	d := deliver(t, s, "x\r\n", a, "INBOX")
	if d[0].UID < uidBefore.UIDNext {
		t.Fatalf("UID reused: %d < %d", d[0].UID, uidBefore.UIDNext)
	}
	wantErr(t, s.RenameFolder(ctx, a, "INBOX", "INBOX/old"), ErrAlreadyExists)
	wantErr(t, s.RenameFolder(ctx, a, "INBOX", "INBOX/nope/x"), ErrNonexistent)
}

func TestReplaceSubinbox(t *testing.T) {
	t.Parallel()
	tests := []struct {
		old, new string
		err      error
	}{
		{"home", "work", nil},
		{"INBOX/home", "office/work", nil},
		{"HOME", "Office/Work", nil},
		{"office/work", "home", nil},
		{"nope", "work", ErrNonexistent},
		{"home", "nope", ErrNonexistent},
		{"work", "work", ErrInsideItself},
		{"work", "WORK", ErrInsideItself},
		{"work", "office/work", ErrInsideItself},
		{"work", "home", ErrHasChildren},
		{"INBOX", "work", ErrInbox},
		{"", "work", ErrInbox},
		{"home", "INBOX", nil},
		{"a//b", "work", ErrInvalidName},
	}
	for _, tt := range tests {
		t.Run(tt.old+"->"+tt.new, func(t *testing.T) {
			t.Parallel()
			s, a := treeStore(t)
			ctx := context.Background()
			before := folderNames(t, s, a)
			err := s.ReplaceSubinbox(ctx, a, tt.old, tt.new)
			wantErr(t, err, tt.err)
			if tt.err != nil {
				if after := folderNames(t, s, a); !reflect.DeepEqual(before, after) {
					t.Fatalf("failed replace changed the tree: %v", after)
				}
				return
			}
			oldAbs, _ := foldername.SubinboxName(tt.old)
			newAbs, _ := s.ResolveSubinbox(ctx, a, tt.new)
			if slices.ContainsFunc(folderNames(t, s, a), func(n string) bool { return equalFold(n, oldAbs) }) {
				t.Fatalf("old still exists")
			}
			// Old resolves to new from now on (either form, any case).
			for _, form := range []string{tt.old, oldAbs} {
				got, err := s.ResolveSubinbox(ctx, a, form)
				if err != nil || got != newAbs {
					t.Fatalf("ResolveSubinbox(%q) = %q, %v; want %q", form, got, err, newAbs)
				}
			}
		})
	}
}

func equalFold(a, b string) bool { return len(a) == len(b) && (a == b || lower(a) == lower(b)) }

func lower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 32
		}
	}
	return string(b)
}

func TestReplaceMovesMessagesAliasesAndSubscriptions(t *testing.T) {
	t.Parallel()
	s, a := treeStore(t)
	ctx := context.Background()
	deliver(t, s, "Subject: home\r\n\r\nx\r\n", a, "INBOX/home")
	if err := s.SetSubscribed(ctx, a, "INBOX/home", true); err != nil {
		t.Fatal(err)
	}
	if err := s.ReplaceSubinbox(ctx, a, "home", "work"); err != nil {
		t.Fatal(err)
	}
	work := mustOpen(t, s, a, "INBOX/work")
	if ms := messages(t, work); len(ms) != 2 {
		t.Fatalf("work has %d messages, want 2", len(ms))
	}
	subs, _ := s.Subscriptions(ctx, a)
	if slices.Contains(subs, "INBOX/home") || !slices.Contains(subs, "INBOX/work") {
		t.Fatalf("subscriptions %v", subs)
	}
	// A chain: work replaced into office/work; home follows to office.
	if err := s.ReplaceSubinbox(ctx, a, "INBOX/work/office", "INBOX/home2"); !errorsIsNon(err) {
		t.Fatal(err)
	}
	if err := s.CreateFolder(ctx, a, "INBOX/job"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteFolder(ctx, a, "INBOX/work/office"); err != nil {
		t.Fatal(err)
	}
	if err := s.ReplaceSubinbox(ctx, a, "work", "job"); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"home", "work", "INBOX/HOME"} {
		got, err := s.ResolveSubinbox(ctx, a, n)
		if err != nil || got != "INBOX/job" {
			t.Fatalf("ResolveSubinbox(%s) = %q, %v", n, got, err)
		}
	}
	// A rename of the target takes the aliases along.
	if err := s.RenameFolder(ctx, a, "INBOX/job", "INBOX/career"); err != nil {
		t.Fatal(err)
	}
	if got, err := s.ResolveSubinbox(ctx, a, "home"); err != nil || got != "INBOX/career" {
		t.Fatalf("after rename: %q, %v", got, err)
	}
	// Deleting the target drops them.
	if err := s.DeleteFolder(ctx, a, "INBOX/career"); err != nil {
		t.Fatal(err)
	}
	_, err := s.ResolveSubinbox(ctx, a, "home")
	wantErr(t, err, ErrNonexistent)
}

func errorsIsNon(err error) bool { return err != nil }

func TestMoveSubinbox(t *testing.T) {
	t.Parallel()
	tests := []struct {
		leaf, from, to string
		err            error
		want           string
	}{
		{"office", "work", "home", nil, "INBOX/home/office"},
		{"office", "INBOX/work", "INBOX/home", nil, "INBOX/home/office"},
		{"office", "work", "", nil, "INBOX/office"},
		{"office", "work", "INBOX", nil, "INBOX/office"},
		{"work", "", "home", nil, "INBOX/home/work/office"},
		{"home", "INBOX", "office/work", nil, "INBOX/work/office/home"},
		{"office", "home", "work", ErrNonexistent, ""},
		{"office", "work", "nope", ErrNonexistent, ""},
		{"work", "", "office/work", ErrInsideItself, ""},
		{"home", "", "work", nil, "INBOX/work/home"},
		{"a/b", "", "work", ErrInvalidName, ""},
		{"..", "", "work", ErrInvalidName, ""},
	}
	for _, tt := range tests {
		t.Run(tt.leaf+":"+tt.from+"->"+tt.to, func(t *testing.T) {
			t.Parallel()
			s, a := treeStore(t)
			err := s.MoveSubinbox(context.Background(), a, tt.leaf, tt.from, tt.to)
			wantErr(t, err, tt.err)
			if tt.want != "" && !slices.Contains(folderNames(t, s, a), tt.want) {
				t.Fatalf("%s missing: %v", tt.want, folderNames(t, s, a))
			}
		})
	}
}

func TestResolveSubinbox(t *testing.T) {
	t.Parallel()
	s, a := treeStore(t)
	ctx := context.Background()
	tests := []struct{ in, want string }{
		{"", "INBOX"},
		{"inbox", "INBOX"},
		{"work", "INBOX/work"},
		{"WORK", "INBOX/work"},
		{"office/work", "INBOX/work/office"},
		{"Office/Work/", "INBOX/work/office"},
		{"inbox/work/OFFICE", "INBOX/work/office"},
		{"nope", ""},
		{"work/office", ""},
		{"Sent", ""}, // not a subinbox
	}
	for _, tt := range tests {
		got, err := s.ResolveSubinbox(ctx, a, tt.in)
		if tt.want == "" {
			if err == nil {
				t.Errorf("ResolveSubinbox(%q) = %q, want error", tt.in, got)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ResolveSubinbox(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func TestNameStaysInsideMaildir(t *testing.T) {
	t.Parallel()
	s, a := treeStore(t)
	ctx := context.Background()
	for _, n := range []string{"../../x", "INBOX/../../x", "a/../../b", "/etc", "~root", ".hidden", "..", "x\x00y"} {
		_ = s.CreateFolder(ctx, a, n)
	}
	// Nothing appeared outside the account's Maildir.
	ents, _ := os.ReadDir(filepath.Dir(s.AccountDir(a)))
	if len(ents) != 1 {
		t.Fatalf("entries beside Maildir: %v", ents)
	}
	for _, f := range folderNames(t, s, a) {
		if _, err := CanonicalFolderName(f); err != nil {
			t.Fatalf("invalid name listed: %q", f)
		}
	}
}
