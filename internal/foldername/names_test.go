package foldername

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

func TestCanonical(t *testing.T) {
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
		got, err := Canonical(tt.in)
		if tt.want == "" {
			if !errors.Is(err, ErrInvalidName) {
				t.Errorf("Canonical(%q) = %q, %v; want ErrInvalidName", tt.in, got, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("Canonical(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
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
		if got := EncodeMUTF7(tt.plain); got != tt.enc {
			t.Errorf("encode(%q) = %q, want %q", tt.plain, got, tt.enc)
		}
		if got, err := DecodeMUTF7(tt.enc); err != nil || got != tt.plain {
			t.Errorf("decode(%q) = %q, %v", tt.enc, got, err)
		}
	}
	// "&AOl-" is "&AOk-" with non-zero padding bits: a second spelling.
	for _, bad := range []string{"&", "&Jjo", "&AGE-", "a\tb", "&ZeVnLIqe-&U,BTFw-", "&AOl-", "&2D0-", "&ACY-", "a\xc3\xa9"} {
		if got, err := DecodeMUTF7(bad); err == nil {
			t.Errorf("decode(%q) = %q, want error", bad, got)
		}
	}
}

func TestMoveNames(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		leaf, from, to string
		old, new       string
	}{
		{"office", "work", "home", "INBOX/work/office", "INBOX/home/office"},
		{"office", "INBOX/work/", "", "INBOX/work/office", "INBOX/office"},
		{"desk", "office/work", "inbox", "INBOX/work/office/desk", "INBOX/desk"},
	} {
		o, n, err := MoveNames(tt.leaf, tt.from, tt.to)
		if err != nil || o != tt.old || n != tt.new {
			t.Errorf("MoveNames(%q, %q, %q) = %q, %q, %v; want %q, %q", tt.leaf, tt.from, tt.to, o, n, err, tt.old, tt.new)
		}
	}
	for _, bad := range [][3]string{{"a/b", "", "work"}, {"..", "", "work"}, {"", "", "work"}, {"INBOX", "work", ""}, {"x", "a//b", ""}, {"x", "", "../y"}} {
		if _, _, err := MoveNames(bad[0], bad[1], bad[2]); !errors.Is(err, ErrInvalidName) {
			t.Errorf("MoveNames%q: %v, want ErrInvalidName", bad, err)
		}
	}
}

// FuzzMUTF7: every name has one spelling. What decodes encodes back to the
// same octets, and every UTF-8 name survives the round trip.
func FuzzMUTF7(f *testing.F) {
	for _, s := range []string{"abc", "&-", "Entw&APw-rfe", "&2D3eAA-", "&AOl-", "Ünïcode & co", "a\x01b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if d, err := DecodeMUTF7(s); err == nil {
			if back := EncodeMUTF7(d); back != s {
				t.Fatalf("%q decodes to %q, which encodes to %q", s, d, back)
			}
		} else if !errors.Is(err, ErrMUTF7) {
			t.Fatalf("DecodeMUTF7(%q): %v", s, err)
		}
		if !utf8.ValidString(s) || strings.ContainsRune(s, utf8.RuneError) {
			return
		}
		enc := EncodeMUTF7(s)
		if d, err := DecodeMUTF7(enc); err != nil || d != s {
			t.Fatalf("%q encodes to %q, which decodes to %q, %v", s, enc, d, err)
		}
	})
}

func TestValidAddressForm(t *testing.T) {
	for name, ok := range map[string]bool{
		"office/work": true, "work": true, "INBOX": true, "inbox": true, "Bücher": true, "a&b": true,
		"inbox/work": false, "work/INBOX": false, "work/": false, "": false, "/work": false,
		"a//b": false, "..": false, "a\x00": false, strings.Repeat("x", 256): false,
	} {
		if err := ValidAddressForm(name); (err == nil) != ok || (err != nil && !errors.Is(err, ErrInvalidName)) {
			t.Errorf("ValidAddressForm(%q) = %v, want ok %v", name, err, ok)
		}
	}
	if n := testing.AllocsPerRun(100, func() { ValidAddressForm("desk/office/work") }); n != 0 {
		t.Errorf("%v allocations", n)
	}
}

// FuzzValidAddressForm: an address-form name accepted is a subinbox that
// ParseSubinbox reads back to the same address form.
func FuzzValidAddressForm(f *testing.F) {
	for _, s := range []string{"office/work", "INBOX", "inbox/work", "a//b", "work/", "Bücher/x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if ValidAddressForm(s) != nil {
			return
		}
		comps, err := ParseSubinbox(s)
		if err != nil {
			t.Fatalf("ValidAddressForm(%q) ok, ParseSubinbox: %v", s, err)
		}
		if !IsInbox(s) && AddressName(comps) != s {
			t.Fatalf("%q reads as %q", s, AddressName(comps))
		}
	})
}
