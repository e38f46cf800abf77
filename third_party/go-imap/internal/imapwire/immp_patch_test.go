package imapwire

import (
	"bufio"
	"errors"
	"strings"
	"testing"

	"github.com/emersion/go-imap/v2"
)

// A mailbox name that is not valid modified UTF-7 is refused with
// NO [CANNOT] (immp patch, see PATCHES.md), not SERVERBUG.
func TestExpectMailboxInvalidUTF7(t *testing.T) {
	for in, want := range map[string]string{`"a&-b"`: "a&b", `"&AOk-t&AOk-"`: "été", `inbox`: "INBOX", `"Entw&APw-rfe"`: "Entwürfe"} {
		dec := NewDecoder(bufio.NewReader(strings.NewReader(in+"\r\n")), ConnSideServer)
		var got string
		if !dec.ExpectMailbox(&got) || got != want {
			t.Errorf("ExpectMailbox(%s) = %q, %v; want %q", in, got, dec.Err(), want)
		}
	}
	for _, in := range []string{`"a&b"`, `"&AGE-"`, `"&AOk"`, `"&Jjo"`} {
		dec := NewDecoder(bufio.NewReader(strings.NewReader(in+"\r\n")), ConnSideServer)
		var got string
		if dec.ExpectMailbox(&got) {
			t.Errorf("ExpectMailbox(%s) = %q, want an error", in, got)
			continue
		}
		var ie *imap.Error
		if !errors.As(dec.Err(), &ie) || ie.Type != imap.StatusResponseTypeNo || ie.Code != imap.ResponseCodeCannot {
			t.Errorf("ExpectMailbox(%s): %v, want NO [CANNOT]", in, dec.Err())
		}
	}
}
