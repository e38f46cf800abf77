package immp

import (
	"github.com/immp-mail/immp/delivery/guard"
	"github.com/immp-mail/immp/immp/wire"
)

// draft 6.4.1, profile 7: criteria ANDed; none given: every entry. One
// "* SEARCHSPAMENTRY "entry"" per match, sorted (the store's order). Patterns use the
// guard's own matcher ("*", "?"), as entries do.
func (c *conn) cmdSearchSpamEntry(cmd *wire.Command) error {
	for _, cr := range cmd.Criteria {
		if len(cr.Pattern) > maxPattern {
			return errBadCode(codeLimit, "Pattern too long")
		}
	}
	entries, err := c.s.opts.Store.Entries(c.ctx, c.acct, cmd.Args[0])
	if err != nil {
		return err
	}
next:
	for _, e := range entries {
		for _, cr := range cmd.Criteria {
			if !guard.Match(cr.Pattern, e) {
				continue next
			}
		}
		if err := c.w.Data(wire.SEARCHSPAMENTRY, wire.Quoted(e)); err != nil {
			return err
		}
	}
	return nil
}

// changed makes the spam guard see a change at once (its cache is
// otherwise refreshed within its staleness bound).
func (c *conn) changed(err error) error {
	if err == nil {
		c.s.opts.Guard.Invalidate()
	}
	return err
}

// draft 6.4.2, profile 7: an address or a pattern with "*" and "?".
func (c *conn) cmdStoreSpamEntry(cmd *wire.Command) error {
	if err := guard.ValidEntry(cmd.Args[1]); err != nil {
		return err
	}
	return c.changed(c.s.opts.Store.AddEntry(c.ctx, c.acct, cmd.Args[0], cmd.Args[1]))
}

// draft 6.4.3, profile 7.
func (c *conn) cmdDeleteSpamEntry(cmd *wire.Command) error {
	return c.changed(c.s.opts.Store.DeleteEntry(c.ctx, c.acct, cmd.Args[0], cmd.Args[1]))
}

// draft 6.4.4, profile 7: the logged-in account's agents matching the
// optional pattern.
func (c *conn) cmdSearchAgent(cmd *wire.Command) error {
	pattern := "*"
	if len(cmd.Args) == 1 {
		pattern = cmd.Args[0]
	}
	if len(pattern) > maxPattern {
		return errBadCode(codeLimit, "Pattern too long")
	}
	agents, err := c.s.opts.Store.Agents(c.ctx, c.acct)
	if err != nil {
		return err
	}
	for _, a := range agents {
		if !guard.Match(pattern, a) {
			continue
		}
		if err := c.w.Data(wire.SEARCHSPAMGUARDAGENT, wire.Quoted(a)); err != nil {
			return err
		}
	}
	return nil
}

// draft 6.4.5, profile 7.
func (c *conn) cmdStoreAgent(cmd *wire.Command) error {
	return c.changed(c.s.opts.Store.AddAgent(c.ctx, c.acct, cmd.Args[0]))
}

// draft 6.4.6, profile 7: the agent's entries go with it.
func (c *conn) cmdDeleteAgent(cmd *wire.Command) error {
	return c.changed(c.s.opts.Store.DeleteAgent(c.ctx, c.acct, cmd.Args[0]))
}
