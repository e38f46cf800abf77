package migrate

import (
	"bytes"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"
	"time"
)

func readAll(t *testing.T, in string, v MboxVariant) ([]MboxMessage, error) {
	t.Helper()
	var out []MboxMessage
	err := ReadMbox(strings.NewReader(in), v, func(m MboxMessage) error {
		out = append(out, m)
		return nil
	})
	return out, err
}

func TestReadMbox(t *testing.T) {
	date := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		name   string
		in     string
		v      MboxVariant
		bodies []string
		errs   int // parts reported with Err
	}{
		{"one", "From a@b Wed Dec  2 10:00:00 2026\nSubject: x\n\nbody\n", MboxRD, []string{"Subject: x\n\nbody\n"}, 0},
		{"two, blank line between is the format's", "From a Wed Dec  2 10:00:00 2026\nS: 1\n\nb1\n\nFrom b Wed Dec  2 10:00:00 2026\nS: 2\n\nb2\n",
			MboxRD, []string{"S: 1\n\nb1\n", "S: 2\n\nb2\n"}, 0},
		{"mboxrd unescapes one level", "From a Wed Dec  2 10:00:00 2026\n\n>From x\n>>From y\n>Fromage\n", MboxRD,
			[]string{"\nFrom x\n>From y\n>Fromage\n"}, 0},
		{"mboxo unescapes >From only", "From a Wed Dec  2 10:00:00 2026\n\n>From x\n>>From y\n", MboxO,
			[]string{"\nFrom x\n>>From y\n"}, 0},
		{"no trailing newline", "From a Wed Dec  2 10:00:00 2026\nS: 1\n\nlast line", MboxRD, []string{"S: 1\n\nlast line"}, 0},
		{"CRLF", "From a Wed Dec  2 10:00:00 2026\r\nS: 1\r\n\r\nb\r\n\r\nFrom b Wed Dec  2 10:00:00 2026\r\nS: 2\r\n\r\nc\r\n",
			MboxRD, []string{"S: 1\r\n\r\nb\r\n", "S: 2\r\n\r\nc\r\n"}, 0},
		{"unescaped From in a body is text unless a separator", "From a Wed Dec  2 10:00:00 2026\n\nhi\nFrom me, with love\n", MboxRD,
			[]string{"\nhi\nFrom me, with love\n"}, 0},
		{"dated From line without blank before separates", "From a Wed Dec  2 10:00:00 2026\n\nhi\nFrom b Wed Dec  2 10:00:00 2026\n\nho\n", MboxRD,
			[]string{"\nhi\n", "\nho\n"}, 0},
		{"text before the first From", "junk\nmore\nFrom a Wed Dec  2 10:00:00 2026\n\nx\n", MboxRD, []string{"\nx\n"}, 1},
		{"empty message", "From a Wed Dec  2 10:00:00 2026\n", MboxRD, []string{""}, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ms, err := readAll(t, tc.in, tc.v)
			if err != nil {
				t.Fatal(err)
			}
			var bodies []string
			errs := 0
			for _, m := range ms {
				if m.Err != nil {
					errs++
					continue
				}
				bodies = append(bodies, string(m.Body))
				if !m.Date.Equal(date) {
					t.Errorf("message %d date %v, want %v", m.N, m.Date, date)
				}
			}
			if !slices.Equal(bodies, tc.bodies) || errs != tc.errs {
				t.Fatalf("bodies %q (%d errors), want %q (%d)", bodies, errs, tc.bodies, tc.errs)
			}
		})
	}
}

func TestReadMboxNotMbox(t *testing.T) {
	for _, in := range []string{"", "Subject: x\n\nno separator\n"} {
		if _, err := readAll(t, in, MboxRD); !errors.Is(err, ErrNotMbox) {
			t.Errorf("%q: err %v, want ErrNotMbox", in, err)
		}
	}
}

func TestReadMboxTooLarge(t *testing.T) {
	big := "From a Wed Dec  2 10:00:00 2026\n\n" + strings.Repeat(strings.Repeat("x", 1023)+"\n", MaxMessageSize/1024+1) +
		"\nFrom b Wed Dec  2 10:00:00 2026\n\nsmall\n"
	ms, err := readAll(t, big, MboxRD)
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 2 || ms[0].Err == nil || ms[1].Err != nil || string(ms[1].Body) != "\nsmall\n" {
		t.Fatalf("got %d parts, first err %v", len(ms), ms[0].Err)
	}
}

func TestMboxFlags(t *testing.T) {
	hdr := []byte("Subject: x\nStatus: RO\nX-Status: AF\nX-Keywords: $Label1,Work\n  Other\n\n")
	got := mboxFlags(hdr)
	want := []string{`\Seen`, `\Answered`, `\Flagged`, "$Label1", "Work", "Other"}
	if !slices.Equal(got, want) {
		t.Fatalf("flags %q, want %q", got, want)
	}
}

// The key of a message is the same read with LF from a source and with
// CRLF from the store, and differs when the header, size or date do.
func TestKeyOf(t *testing.T) {
	d := time.Unix(1700000000, 0)
	k := func(s string, d time.Time) msgKey {
		key, _, err := keyOf(strings.NewReader(s), d)
		if err != nil {
			t.Fatal(err)
		}
		return key
	}
	lf := k("Subject: a\n\nbody\n", d)
	if crlf := k("Subject: a\r\n\r\nbody\r\n", d); crlf != lf {
		t.Fatalf("LF and CRLF keys differ: %v %v", lf, crlf)
	}
	if lf.size != int64(len("Subject: a\r\n\r\nbody\r\n")) {
		t.Fatalf("size %d", lf.size)
	}
	hdr, _ := readHeaderBlock(strings.NewReader("Subject: a\r\n\r\nbody\r\n"))
	if h := k(string(hdr), d); h.hdr != lf.hdr {
		t.Fatal("header block key differs from the whole message's header key")
	}
	for _, other := range []msgKey{k("Subject: b\n\nbody\n", d), k("Subject: a\n\nbodyy\n", d), k("Subject: a\n\nbody\n", d.Add(time.Second))} {
		if other == lf {
			t.Fatalf("different messages share key %v", lf)
		}
	}
}

func FuzzReadMbox(f *testing.F) {
	f.Add([]byte("From a Wed Dec  2 10:00:00 2026\nS: 1\n\n>From x\n\nFrom b Wed Dec  2 10:00:00 2026\r\n\r\nx"))
	f.Add([]byte("junk\nFrom \n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		total := 0
		var bodies []string
		err := ReadMbox(bytes.NewReader(in), MboxRD, func(m MboxMessage) error {
			total += len(m.Body)
			if m.Err == nil {
				bodies = append(bodies, string(m.Body))
			}
			return nil
		})
		if err != nil && !errors.Is(err, ErrNotMbox) {
			t.Fatal(err)
		}
		// Scanned and read again by offsets: the same messages.
		var again []string
		ScanMbox(bytes.NewReader(in), MboxRD, func(m MboxMessage) error {
			if m.Err == nil {
				b, _ := io.ReadAll(OpenMboxMessage(bytes.NewReader(in), m, MboxRD))
				if int64(len(b)) != m.Size {
					t.Fatalf("message %d: %d octets read again, Size %d", m.N, len(b), m.Size)
				}
				again = append(again, string(b))
			}
			return nil
		})
		if !slices.Equal(bodies, again) {
			t.Fatalf("read by offsets %q, read whole %q", again, bodies)
		}
		// Unquoting and the format's blank lines only remove octets.
		if total > len(in) {
			t.Fatalf("%d octets of messages from %d of input", total, len(in))
		}
	})
}

func TestFromLineDate(t *testing.T) {
	want := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		line string
		ok   bool
	}{
		{"From a@b Wed Dec  2 10:00:00 2026", true},
		{"From a@b Wed Dec 2 10:00:00 2026", true},
		{"From a@b Wed Dec  2 10:00:00 UTC 2026", true},
		{"From a@b Wed Dec  2 10:00:00 +0000 2026", true},
		{"From a@b Wed Dec  2 10:00:00 2026 remote from x", true},
		{"From MAILER-DAEMON Wed Dec  2 10:00:00 2026", true},
		{"From me, with love and kisses", false},
		{"From a@b", false},
		{"From a@b Wed Dec 32 10:00:00 2026", false},
	}
	for _, tc := range tests {
		got := fromLineDate([]byte(tc.line))
		if tc.ok != !got.IsZero() || (tc.ok && !got.Equal(want)) {
			t.Errorf("%q: %v", tc.line, got)
		}
	}
}
