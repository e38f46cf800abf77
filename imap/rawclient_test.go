package imap

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/immp-mail/immp/maildir"
)

// rawConn speaks IMAP over a plain socket, so tests see the exact octets
// the server sends (literals included).
type rawConn struct {
	t   testing.TB
	c   net.Conn
	r   *bufio.Reader
	tag int
}

func (e *env) raw(user string) *rawConn {
	e.t.Helper()
	c, err := net.Dial("tcp", e.addr)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { c.Close() })
	rc := &rawConn{t: e.t, c: c, r: bufio.NewReader(c)}
	if _, err := rc.r.ReadString('\n'); err != nil {
		e.t.Fatal(err)
	}
	rc.ok(fmt.Sprintf("LOGIN %s %q", user, testPassword))
	return rc
}

// cmd sends a command and returns its untagged responses (literals
// inline) and the tagged status line.
func (rc *rawConn) cmd(cmd string) (untagged []string, status string, err error) {
	rc.tag++
	tag := "t" + strconv.Itoa(rc.tag)
	rc.c.SetDeadline(time.Now().Add(60 * time.Second))
	if _, err := fmt.Fprintf(rc.c, "%s %s\r\n", tag, cmd); err != nil {
		return nil, "", err
	}
	for {
		resp, err := rc.readResponse()
		if err != nil {
			return untagged, "", err
		}
		if strings.HasPrefix(resp, tag+" ") {
			return untagged, resp[len(tag)+1:], nil
		}
		untagged = append(untagged, resp)
	}
}

// readResponse reads one response line with its literals.
func (rc *rawConn) readResponse() (string, error) {
	var b strings.Builder
	for {
		line, err := rc.r.ReadString('\n')
		if err != nil {
			return b.String(), err
		}
		line = strings.TrimSuffix(line, "\r\n")
		b.WriteString(line)
		i := strings.LastIndexByte(line, '{')
		if !strings.HasSuffix(line, "}") || i < 0 {
			return b.String(), nil
		}
		n, err := strconv.Atoi(strings.TrimSuffix(line[i+1:len(line)-1], "+"))
		if err != nil {
			return b.String(), nil
		}
		buf := make([]byte, n)
		if _, err := io.ReadFull(rc.r, buf); err != nil {
			return b.String(), err
		}
		b.WriteString("\r\n")
		b.Write(buf)
	}
}

// do sends a command and returns its completion (without the tag) and
// the untagged lines before it; a broken connection fails the test.
func (rc *rawConn) do(cmd string) (string, []string) {
	rc.t.Helper()
	u, st, err := rc.cmd(cmd)
	if err != nil {
		rc.t.Fatalf("%s: %v", cmd, err)
	}
	return st, u
}

func (rc *rawConn) ok(cmd string) []string {
	rc.t.Helper()
	u, st, err := rc.cmd(cmd)
	if err != nil {
		rc.t.Fatalf("%s: %v", cmd, err)
	}
	if !strings.HasPrefix(st, "OK") {
		rc.t.Fatalf("%s: %s", cmd, st)
	}
	return u
}

// appendRaw stores a message as it is into a folder, returning its UID.
func (e *env) appendRaw(acct maildir.Account, folder string, msg []byte) uint32 {
	e.t.Helper()
	ctx := context.Background()
	f, err := e.store.OpenFolder(ctx, acct, folder)
	if err != nil {
		e.t.Fatal(err)
	}
	uid, err := f.Append(ctx, strings.NewReader(string(msg)), nil, time.Date(2008, 2, 22, 17, 6, 23, 0, time.UTC))
	if err != nil {
		e.t.Fatal(err)
	}
	return uid
}

// crlf turns a message written with LF line ends into CRLF.
func crlf(s string) []byte {
	return []byte(strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\n", "\r\n"))
}
