package immp

import (
	"github.com/immp-mail/immp/immp/wire"
	"github.com/immp-mail/immp/internal/foldername"
)

// maxPattern bounds LIST and search patterns (the reference and pattern
// together for LIST): matching costs len(pattern) x len(name) per
// candidate.
const maxPattern = 1024

// draft 6.3.6 as fixed by profile 6; the rules are foldername's
// ListSubinboxes, which the IMAP fallback client applies as well.
func (c *conn) cmdList(cmd *wire.Command) error {
	ref, pattern := cmd.Args[0], cmd.Args[1]
	if pattern == "" {
		// RFC 9051 6.3.9: the hierarchy delimiter.
		return c.w.Data("LIST", wire.List{wire.Atom(`\Noselect`)}, wire.Quoted(foldername.Separator), wire.Quoted(""))
	}
	if len(ref)+len(pattern) > maxPattern {
		return errBadCode(codeLimit, "Pattern too long")
	}
	folders, err := c.s.opts.Store.Folders(c.ctx, c.acct)
	if err != nil {
		return err
	}
	names := make([]string, len(folders))
	for i, f := range folders {
		names[i] = f.Name
	}
	for _, e := range foldername.ListSubinboxes(names, ref, pattern) {
		flag := wire.Atom(`\HasNoChildren`)
		if e.HasChildren {
			flag = `\HasChildren`
		}
		if err := c.w.Data("LIST", wire.List{flag}, wire.Quoted(foldername.Separator), wire.AString(e.Name)); err != nil {
			return err
		}
	}
	return nil
}
