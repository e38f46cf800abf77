package backup

import (
	"path/filepath"
	"strings"
	"testing"
)

func TestParseEntries(t *testing.T) {
	sum := strings.Repeat("ab", 32)
	tests := []struct {
		in   string
		n    int
		fail string
	}{
		{"D mail\nF " + sum + " 12 mail/x\n", 2, ""},
		{"F " + sum + " 12 a b c\n", 1, ""}, // spaces in a path are the path's
		{"D ../etc\n", 0, "leaves the directory"},
		{"F " + sum + " 1 /etc/passwd\n", 0, "leaves the directory"},
		{"F " + sum + " 1 mail/../../x\n", 0, "leaves the directory"},
		{"F abc 1 x\n", 0, "malformed"},
		{"F " + sum + " -1 x\n", 0, "bad size"},
		{"X y\n", 0, "malformed"},
		{"D \n", 0, "leaves the directory"},
	}
	for _, tc := range tests {
		ents, err := parseEntries([]byte(tc.in))
		switch {
		case tc.fail == "" && (err != nil || len(ents) != tc.n):
			t.Errorf("%q: %d entries, %v", tc.in, len(ents), err)
		case tc.fail != "" && (err == nil || !strings.Contains(err.Error(), tc.fail)):
			t.Errorf("%q: %v, want an error saying %q", tc.in, err, tc.fail)
		}
	}
	// What writeManifest writes parses back the same.
	e := []entry{{dir: true, path: "mail"}, {sum: sum, size: 7, path: "mail/a b"}}
	var b strings.Builder
	for _, x := range e {
		b.WriteString(x.line())
	}
	got, err := parseEntries([]byte(b.String()))
	if err != nil || len(got) != 2 || got[1] != e[1] || got[0] != e[0] {
		t.Fatalf("round trip: %+v %v", got, err)
	}
}

func FuzzParseEntries(f *testing.F) {
	f.Add([]byte("D mail\nF " + strings.Repeat("0", 64) + " 3 mail/x\n"))
	f.Add([]byte("D ../x\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		ents, err := parseEntries(in)
		if err != nil {
			return
		}
		for _, e := range ents {
			// No accepted path leaves the target directory.
			if j := filepath.Join("/data", filepath.FromSlash(e.path)); j != "/data" && !strings.HasPrefix(j, "/data/") {
				t.Fatalf("accepted path %q, which is %s", e.path, j)
			}
			if !e.dir && (len(e.sum) != 64 || e.size < 0) {
				t.Fatalf("accepted entry %+v", e)
			}
		}
	})
}
