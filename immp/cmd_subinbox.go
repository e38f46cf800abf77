package immp

import (
	"github.com/immp-mail/immp/immp/wire"
	"github.com/immp-mail/immp/internal/foldername"
)

// absolute turns a subinbox name in either form (profile 5) into its
// absolute IMAP name, the form the mailbox layer's folder operations take:
// "office/work" and "inbox/work/office" are "INBOX/work/office"; "" and
// "INBOX" are "INBOX".
func absolute(name string) (string, error) { return foldername.SubinboxName(name) }

// draft 6.3.1, profile 6: the parent must exist; a trailing "/" is ignored.
func (c *conn) cmdCreate(cmd *wire.Command) error {
	name, err := absolute(cmd.Args[0])
	if err != nil {
		return err
	}
	if name == "INBOX" {
		return errNo(codeAlreadyExists, "INBOX always exists")
	}
	return c.s.opts.Store.CreateFolder(c.ctx, c.acct, name)
}

// draft 6.3.2, profile 6.
func (c *conn) cmdDelete(cmd *wire.Command) error {
	name, err := absolute(cmd.Args[0])
	if err != nil {
		return err
	}
	if name == "INBOX" {
		return errNo(codeCannot, "INBOX cannot be deleted")
	}
	return c.s.opts.Store.DeleteFolder(c.ctx, c.acct, name)
}

// draft 6.3.3, profile 6: renaming INBOX moves its messages into the new
// subinbox (the mailbox layer does it).
func (c *conn) cmdRename(cmd *wire.Command) error {
	from, err := absolute(cmd.Args[0])
	if err != nil {
		return err
	}
	to, err := absolute(cmd.Args[1])
	if err != nil {
		return err
	}
	return c.s.opts.Store.RenameFolder(c.ctx, c.acct, from, to)
}

// draft 6.3.4, profile 6.
func (c *conn) cmdReplace(cmd *wire.Command) error {
	from, err := absolute(cmd.Args[0])
	if err != nil {
		return err
	}
	to, err := absolute(cmd.Args[1])
	if err != nil {
		return err
	}
	if from == "INBOX" {
		return errNo(codeCannot, "INBOX cannot be replaced")
	}
	return c.s.opts.Store.ReplaceSubinbox(c.ctx, c.acct, from, to)
}

// draft 6.3.5, profile 6: MOVE leaf (from to), "" or INBOX the root.
func (c *conn) cmdMove(cmd *wire.Command) error {
	from, err := absolute(cmd.Args[1])
	if err != nil {
		return err
	}
	to, err := absolute(cmd.Args[2])
	if err != nil {
		return err
	}
	return c.s.opts.Store.MoveSubinbox(c.ctx, c.acct, cmd.Args[0], from, to)
}
