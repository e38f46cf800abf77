package maildir

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestParseSubinbox(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want []string
		err  bool
	}{
		{"INBOX", []string{}, false},
		{"inbox", []string{}, false},
		{"", []string{}, false},
		{"inbox/", []string{}, false},
		{"work", []string{"work"}, false},
		{"office/work", []string{"work", "office"}, false},
		{"office/work/", []string{"work", "office"}, false},
		{"INBOX/work/office", []string{"work", "office"}, false},
		{"InBoX/work/office/", []string{"work", "office"}, false},
		{"Ünïcode/日本", []string{"日本", "Ünïcode"}, false},
		{"a.b/c~d", []string{"c~d", "a.b"}, false},
		{"office//work", nil, true},
		{"/work", nil, true},
		{"INBOX//work", nil, true},
		{"..", nil, true},
		{"./work", nil, true},
		{"INBOX/..", nil, true},
		{"INBOX/.", nil, true},
		{"a\x00b", nil, true},
		{"a\tb", nil, true},
		{"a\x7fb", nil, true},
		{"a\u0085b", nil, true},
		{"\xff", nil, true},
		{strings.Repeat("x", 256), nil, true},
		{strings.Repeat("x", 255), []string{strings.Repeat("x", 255)}, false},
		{"INBOX/inbox", nil, true},
		{"x/inbox", nil, true},
	}
	for _, tt := range tests {
		got, err := ParseSubinbox(tt.in)
		if (err != nil) != tt.err {
			t.Errorf("ParseSubinbox(%q) error = %v, want error %v", tt.in, err, tt.err)
			continue
		}
		if err != nil {
			if !errors.Is(err, ErrInvalidName) {
				t.Errorf("ParseSubinbox(%q) error %v is not ErrInvalidName", tt.in, err)
			}
			continue
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ParseSubinbox(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestNameForms(t *testing.T) {
	t.Parallel()
	comps := []string{"work", "office"}
	if got := AbsoluteName(comps); got != "INBOX/work/office" {
		t.Errorf("AbsoluteName = %q", got)
	}
	if got := AddressName(comps); got != "office/work" {
		t.Errorf("AddressName = %q", got)
	}
	if AbsoluteName(nil) != "INBOX" || AddressName(nil) != "" {
		t.Error("root forms wrong")
	}
	for _, n := range []string{"office/work", "INBOX/work/office", "inbox/work/office/"} {
		got, err := SubinboxName(n)
		if err != nil || got != "INBOX/work/office" {
			t.Errorf("SubinboxName(%q) = %q, %v", n, got, err)
		}
	}
}

func TestCanonicalFolderName(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"inbox", "INBOX"},
		{"Inbox/Work/", "INBOX/Work"},
		{"Sent", "Sent"},
		{"Archive/2024", "Archive/2024"},
		{"", ""},
		{"a//b", ""},
		{"../x", ""},
		{"x/..", ""},
		{"INBOX/inbox", ""},
		{"a\nb", ""},
	}
	for _, tt := range tests {
		got, err := CanonicalFolderName(tt.in)
		if tt.want == "" {
			if !errors.Is(err, ErrInvalidName) {
				t.Errorf("CanonicalFolderName(%q) = %q, %v; want ErrInvalidName", tt.in, got, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("CanonicalFolderName(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
		if ValidateFolderName(tt.in) != nil {
			t.Errorf("ValidateFolderName(%q) failed", tt.in)
		}
	}
}

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

func TestMUTF7(t *testing.T) {
	t.Parallel()
	tests := []struct{ plain, enc string }{
		{"abc", "abc"},
		{"&", "&-"},
		{"~peter/mail/台北/日本語", "~peter/mail/&U,BTFw-/&ZeVnLIqe-"},
		{"Entwürfe", "Entw&APw-rfe"},
		{"😀", "&2D3eAA-"},
	}
	for _, tt := range tests {
		if got := encodeMUTF7(tt.plain); got != tt.enc {
			t.Errorf("encode(%q) = %q, want %q", tt.plain, got, tt.enc)
		}
		if got, err := decodeMUTF7(tt.enc); err != nil || got != tt.plain {
			t.Errorf("decode(%q) = %q, %v", tt.enc, got, err)
		}
	}
	for _, bad := range []string{"&", "&Jjo", "&AGE-", "a\tb", "&ZeVnLIqe-&U,BTFw-"} {
		if got, err := decodeMUTF7(bad); err == nil {
			t.Errorf("decode(%q) = %q, want error", bad, got)
		}
	}
}

func FuzzParseSubinbox(f *testing.F) {
	for _, s := range []string{"INBOX", "office/work", "INBOX/work/office", "inbox/", "a.b/c", "..", "x//y", "日本/x", "INBOX/inbox", "a\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		comps, err := ParseSubinbox(name)
		if err != nil {
			if !errors.Is(err, ErrInvalidName) {
				t.Fatalf("error not ErrInvalidName: %v", err)
			}
			return
		}
		for _, c := range comps {
			if c == "" || c == "." || c == ".." || strings.Contains(c, "/") || !utf8.ValidString(c) || len(c) > MaxComponentLen {
				t.Fatalf("bad component %q accepted from %q", c, name)
			}
		}
		// Both forms parse back to the same components.
		abs := AbsoluteName(comps)
		back, err := ParseSubinbox(abs)
		if err != nil || !reflect.DeepEqual(back, comps) {
			t.Fatalf("absolute %q -> %q, %v; want %q", abs, back, err, comps)
		}
		if len(comps) > 0 {
			addr := AddressName(comps)
			back, err = ParseSubinbox(addr)
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
