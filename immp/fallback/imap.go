package fallback

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"slices"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/immp-mail/immp/internal/foldername"
)

// ErrNeedsIMMP is returned for operations that IMAP cannot express.
var ErrNeedsIMMP = errors.New("needs the IMMP server")

// ErrInbox is returned for CREATE and DELETE of INBOX itself, which is no
// subinbox (profile 6).
var ErrInbox = errors.New("not permitted on INBOX")

// IMAP is subinbox management over plain IMAP (draft 5.6): CREATE, DELETE,
// RENAME and LIST on absolute INBOX/... names. It has the method set of
// client.SubinboxManager.
type IMAP struct {
	c *imapclient.Client
}

// DialIMAP connects to an IMAP server and logs in. With tlsConfig nil the
// connection stays in cleartext (the server allows that from loopback
// only); with startTLS it upgrades with STARTTLS, otherwise it speaks TLS
// from the first octet.
func DialIMAP(ctx context.Context, addr, user, password string, tlsConfig *tls.Config, startTLS bool) (*IMAP, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	var c *imapclient.Client
	opts := &imapclient.Options{TLSConfig: tlsConfig}
	switch {
	case tlsConfig != nil && !startTLS:
		c = imapclient.New(tls.Client(conn, tlsConfig), opts)
	case tlsConfig != nil:
		c, err = imapclient.NewStartTLS(conn, opts)
		if err != nil {
			conn.Close()
			return nil, fmt.Errorf("IMAP STARTTLS: %w", err)
		}
	default:
		c = imapclient.New(conn, opts)
	}
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	if err := c.Login(user, password).Wait(); err != nil {
		c.Close()
		return nil, fmt.Errorf("IMAP LOGIN: %w", err)
	}
	return &IMAP{c: c}, nil
}

// absolute turns a subinbox name in either form into its IMAP name;
// INBOX itself is refused unless allowRoot.
func absolute(name string, allowRoot bool) (string, error) {
	abs, err := foldername.SubinboxName(name)
	if err != nil {
		return "", err
	}
	if abs == "INBOX" && !allowRoot {
		return "", fmt.Errorf("%q: %w", name, ErrInbox)
	}
	return abs, nil
}

// run waits for a command, giving up when ctx ends.
func (m *IMAP) run(ctx context.Context, what string, cmd interface{ Wait() error }) error {
	stop := context.AfterFunc(ctx, func() { m.c.Close() })
	defer stop()
	if err := cmd.Wait(); err != nil {
		return fmt.Errorf("IMAP %s: %w", what, err)
	}
	return nil
}

// Create makes a subinbox (IMAP CREATE INBOX/...).
func (m *IMAP) Create(ctx context.Context, name string) error {
	abs, err := absolute(name, false)
	if err != nil {
		return err
	}
	return m.run(ctx, "CREATE "+abs, m.c.Create(abs, nil))
}

// Delete removes a subinbox (IMAP DELETE INBOX/...).
func (m *IMAP) Delete(ctx context.Context, name string) error {
	abs, err := absolute(name, false)
	if err != nil {
		return err
	}
	return m.run(ctx, "DELETE "+abs, m.c.Delete(abs))
}

// Rename renames a subinbox; renaming INBOX moves its messages into the
// new subinbox, as IMMP RENAME does (draft 6.3.3, RFC 9051 6.3.6).
func (m *IMAP) Rename(ctx context.Context, oldName, newName string) error {
	o, err := absolute(oldName, true)
	if err != nil {
		return err
	}
	n, err := absolute(newName, false)
	if err != nil {
		return err
	}
	return m.run(ctx, "RENAME "+o+" "+n, m.c.Rename(o, n, nil))
}

// Move gives subinbox leaf (its last component) a new parent: one RENAME
// from from/leaf to to/leaf; "" or INBOX is the root (profile 6).
func (m *IMAP) Move(ctx context.Context, leaf, from, to string) error {
	o, n, err := foldername.MoveNames(leaf, from, to)
	if err != nil {
		return err
	}
	return m.run(ctx, "RENAME "+o+" "+n, m.c.Rename(o, n, nil))
}

// Replace is refused: its point is that mail addressed to the old
// subinbox is filed into the new one from then on (draft 6.3.4), and IMAP
// has no way to say that. Moving the messages and deleting the old folder
// would silently turn the old address's mail to INBOX, so nothing is done.
func (m *IMAP) Replace(ctx context.Context, oldName, newName string) error {
	return fmt.Errorf("REPLACE %s %s: %w: over IMAP the old subinbox's address could not be redirected to the new one; start the IMMP listener and retry", oldName, newName, ErrNeedsIMMP)
}

// List returns subinboxes matching reference and pattern with IMMP LIST's
// rules (profile 6), which it applies here to what IMAP LIST "" "INBOX/*"
// shows: foldername.ListSubinboxes, the function the IMMP server answers
// with, so both give the same names in the same order. Levels that are
// not folders (\Noselect, \NonExistent) are left out, as IMMP lists
// existing subinboxes only.
func (m *IMAP) List(ctx context.Context, reference, pattern string) ([]string, error) {
	cmd := m.c.List("", "INBOX/*", nil)
	stop := context.AfterFunc(ctx, func() { m.c.Close() })
	defer stop()
	boxes, err := cmd.Collect()
	if err != nil {
		return nil, fmt.Errorf("IMAP LIST: %w", err)
	}
	var folders []string
	for _, b := range boxes {
		if slices.Contains(b.Attrs, imap.MailboxAttrNoSelect) || slices.Contains(b.Attrs, imap.MailboxAttrNonExistent) {
			continue
		}
		folders = append(folders, b.Mailbox)
	}
	var out []string
	for _, e := range foldername.ListSubinboxes(folders, reference, pattern) {
		out = append(out, e.Name)
	}
	return out, nil
}

// Close logs out.
func (m *IMAP) Close() error {
	m.c.Logout().Wait()
	return m.c.Close()
}
