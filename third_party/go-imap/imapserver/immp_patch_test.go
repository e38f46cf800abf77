package imapserver

import (
	"bufio"
	"strings"
	"testing"

	"github.com/emersion/go-imap/v2/internal/imapwire"
)

// A LIST pattern that is not valid modified UTF-7 is matched as written
// (immp patch, see PATCHES.md); a valid one is decoded.
func TestReadListMailboxInvalidUTF7(t *testing.T) {
	for in, want := range map[string]string{
		`"&AOk-*"`:                            "é*",
		`%`:                                   "%",
		`"a&b*"`:                              "a&b*",
		`"&*"`:                                "&*",
		"!#$$&'+,-.0123456789:;<=>?@^_`|[}%*": "!#$$&'+,-.0123456789:;<=>?@^_`|[}%*",
	} {
		dec := imapwire.NewDecoder(bufio.NewReader(strings.NewReader(in+"\r\n")), imapwire.ConnSideServer)
		got, err := readListMailbox(dec)
		if err != nil || got != want {
			t.Errorf("readListMailbox(%s) = %q, %v; want %q", in, got, err, want)
		}
	}
}
