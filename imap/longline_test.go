package imap

import (
	"fmt"
	"strings"
	"testing"
)

// A command line over imapserver's 50 KiB is refused as too long, BAD
// [LIMIT] (RFC 5530 3), not NO [SERVERBUG] as if the server had failed;
// the rest of the line is dropped as it streams, and the session goes on
// with the next command. A UID set of a million numbers is such a line.
// One that does not end within 16 MiB more ends the session with BYE.
func TestCommandLineTooLong(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{noSync: true})
	e.deliver(e.account("alice@example.org"), "INBOX", "m1")
	rc := e.raw("alice@example.org")
	rc.ok("SELECT INBOX")
	var set strings.Builder
	for i := 1; i <= 1000000; i++ {
		fmt.Fprintf(&set, "%d,", i)
	}
	st, _ := rc.do("UID FETCH " + set.String() + "1 FLAGS")
	if st != "BAD [LIMIT] Command line too long" {
		t.Fatalf("a %d-octet UID FETCH: %q", set.Len(), st)
	}
	rc.ok("NOOP")
	// The tag is past the limit too: the refusal is untagged.
	rc.c.Write([]byte(strings.Repeat("t", 60<<10) + " NOOP\r\n"))
	if line, err := rc.readResponse(); err != nil || line != "* BAD [LIMIT] Command line too long" {
		t.Fatalf("a 60 KiB tag: %q %v", line, err)
	}
	rc.ok("NOOP")
	// Without an end: BYE once 16 MiB more are read, and the end.
	go rc.c.Write([]byte("t NOOP " + strings.Repeat("x", 17<<20)))
	if line, err := rc.readResponse(); err != nil || line != "* BYE Command line too long" {
		t.Fatalf("no end of line: %q %v", line, err)
	}
	if line, err := rc.readResponse(); err == nil {
		t.Fatalf("after BYE: %q, want the end of the connection", line)
	}
}
