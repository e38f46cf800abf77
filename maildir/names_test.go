package maildir

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/immp-mail/immp/internal/foldername"
)

func TestFolderDirCodec(t *testing.T) {
	t.Parallel()
	// Spellings checked against Dovecot 2.3 (listescape, separator "/").
	tests := []struct{ name, dir string }{
		{"INBOX", ""},
		{"INBOX/work/office", ".INBOX.work.office"},
		{"Sent", ".Sent"},
		{"Ünïcode & co", ".&ANw-n&AO8-code &- co"},
		{"a.b", `.a\2eb`},
		{"~x", `.\7ex`},
		{`c\d`, `.c\5cd`},
		{"INBOX/x.y", `.INBOX.x\2ey`},
		{"é.f", `.&AOk-\2ef`},
		{"INBOX/~x", ".INBOX.~x"},
		{"日本語/x", ".&ZeVnLIqe-.x"},
	}
	for _, tt := range tests {
		if got := encodeFolderDir(tt.name); got != tt.dir {
			t.Errorf("encodeFolderDir(%q) = %q, want %q", tt.name, got, tt.dir)
		}
		if tt.dir == "" {
			continue
		}
		got, ok := decodeFolderDir(tt.dir)
		if !ok || got != tt.name {
			t.Errorf("decodeFolderDir(%q) = %q, %v; want %q", tt.dir, got, ok, tt.name)
		}
	}
	for _, dir := range []string{".", "..", "cur", "..x", ".a..b", ".INBOX", ".&Jjo", ".&AGE-", ".inbox.x", ".a.", `.a\2Eb`} {
		if n, ok := decodeFolderDir(dir); ok {
			t.Errorf("decodeFolderDir(%q) = %q, want not a folder", dir, n)
		}
	}
}

func FuzzParseSubinbox(f *testing.F) {
	for _, s := range []string{"INBOX", "office/work", "INBOX/work/office", "inbox/", "a.b/c", "..", "x//y", "日本/x", "INBOX/inbox", "a\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		comps, err := foldername.ParseSubinbox(name)
		if err != nil {
			if !errors.Is(err, ErrInvalidName) {
				t.Fatalf("error not ErrInvalidName: %v", err)
			}
			return
		}
		for _, c := range comps {
			if c == "" || c == "." || c == ".." || strings.Contains(c, "/") || !utf8.ValidString(c) || len(c) > foldername.MaxComponentLen {
				t.Fatalf("bad component %q accepted from %q", c, name)
			}
		}
		// Both forms parse back to the same components.
		abs := foldername.AbsoluteName(comps)
		back, err := foldername.ParseSubinbox(abs)
		if err != nil || !reflect.DeepEqual(back, comps) {
			t.Fatalf("absolute %q -> %q, %v; want %q", abs, back, err, comps)
		}
		if len(comps) > 0 {
			addr := foldername.AddressName(comps)
			back, err = foldername.ParseSubinbox(addr)
			if err != nil || !reflect.DeepEqual(back, comps) {
				t.Fatalf("address %q -> %q, %v; want %q", addr, back, err, comps)
			}
		}
		// The on-disk name stays one directory entry in the Maildir.
		if len(comps) > 0 {
			dir := encodeFolderDir(abs)
			if strings.Contains(dir, "/") || dir == "." || dir == ".." || dir[0] != '.' {
				t.Fatalf("dir %q for %q", dir, abs)
			}
		}
	})
}

func FuzzFolderDirCodec(f *testing.F) {
	for _, s := range []string{"INBOX/work/office", "Sent", "Ünïcode & co", "a.b", "~x", `c\d`, `x\2e`, "é.f", "&-", "日本語/x/y"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		canon, err := CanonicalFolderName(name)
		if err != nil || canon == "INBOX" {
			return
		}
		dir := encodeFolderDir(canon)
		if strings.ContainsAny(dir, "/\x00") || dir[0] != '.' || dir == ".." || strings.HasPrefix(dir, "..") {
			t.Fatalf("encodeFolderDir(%q) = %q", canon, dir)
		}
		for i := 0; i < len(dir); i++ {
			if dir[i] < 0x20 || dir[i] > 0x7e {
				t.Fatalf("non-ASCII byte in %q", dir)
			}
		}
		back, ok := decodeFolderDir(dir)
		if !ok || back != canon {
			t.Fatalf("round trip %q -> %q -> %q, %v", canon, dir, back, ok)
		}
		// And the subscriptions spelling.
		sub, ok := parseSubLine(subLine(canon), "\t")
		if !ok || sub != canon {
			t.Fatalf("subscription round trip %q -> %q", canon, sub)
		}
	})
}
