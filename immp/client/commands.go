package client

import (
	"context"

	"github.com/immp-mail/immp/immp/wire"
)

// Create makes a subinbox; its parent must exist (draft 6.3.1).
func (c *Client) Create(ctx context.Context, name string) error {
	return c.do(ctx, wire.CREATE, []arg{str(name)}, nil)
}

// Delete removes a subinbox without children (draft 6.3.2).
func (c *Client) Delete(ctx context.Context, name string) error {
	return c.do(ctx, wire.DELETE, []arg{str(name)}, nil)
}

// Rename renames a subinbox, children along (draft 6.3.3).
func (c *Client) Rename(ctx context.Context, oldName, newName string) error {
	return c.do(ctx, wire.RENAME, []arg{str(oldName), str(newName)}, nil)
}

// Replace merges oldName into newName and files old's mail there from
// then on (draft 6.3.4, profile 6).
func (c *Client) Replace(ctx context.Context, oldName, newName string) error {
	return c.do(ctx, wire.REPLACE, []arg{str(oldName), str(newName)}, nil)
}

// Move moves the subinbox leaf from parent from to parent to; "" is INBOX
// (draft 6.3.5, profile 6).
func (c *Client) Move(ctx context.Context, leaf, from, to string) error {
	return c.do(ctx, wire.MOVE, []arg{str(leaf), {list: []arg{str(from), str(to)}}}, nil)
}

// ListItem is one LIST reply.
type ListItem struct {
	Name  string
	Flags []string // \HasChildren, \HasNoChildren, \Noselect
}

// ListItems runs LIST (draft 6.3.6, profile 6) and returns the replies
// with their flags.
func (c *Client) ListItems(ctx context.Context, reference, pattern string) ([]ListItem, error) {
	var out []ListItem
	err := c.do(ctx, wire.LIST, []arg{str(reference), str(pattern)}, func(r *wire.Response) {
		if r.Name != wire.LIST || len(r.Fields) != 3 || r.Fields[0].Kind != wire.KindList {
			return
		}
		it := ListItem{Name: r.Fields[2].Str}
		for _, f := range r.Fields[0].List {
			it.Flags = append(it.Flags, f.Str)
		}
		out = append(out, it)
	})
	return out, err
}

// List runs LIST and returns the names as the server sent them.
func (c *Client) List(ctx context.Context, reference, pattern string) ([]string, error) {
	items, err := c.ListItems(ctx, reference, pattern)
	names := make([]string, 0, len(items))
	for _, it := range items {
		names = append(names, it.Name)
	}
	return names, err
}

// collect gathers the first field of each untagged response called name.
func collect(name string, out *[]string) func(*wire.Response) {
	return func(r *wire.Response) {
		if r.Name == name && len(r.Fields) == 1 && r.Fields[0].IsString() {
			*out = append(*out, r.Fields[0].Str)
		}
	}
}

// SearchSpamEntry lists the agent's entries matching every pattern
// ("*", "?" wildcards); no pattern: all (draft 6.4.1).
func (c *Client) SearchSpamEntry(ctx context.Context, agent string, patterns ...string) ([]string, error) {
	args := []arg{str(agent)}
	for _, p := range patterns {
		args = append(args, atom("EMAIL"), str(p))
	}
	var out []string
	err := c.do(ctx, wire.SEARCHSPAMENTRY, args, collect(wire.SEARCHSPAMENTRY, &out))
	return out, err
}

// StoreSpamEntry adds an address or pattern to an agent (draft 6.4.2).
func (c *Client) StoreSpamEntry(ctx context.Context, agent, entry string) error {
	return c.do(ctx, wire.STORESPAMENTRY, []arg{str(agent), str(entry)}, nil)
}

// DeleteSpamEntry removes an entry from an agent (draft 6.4.3).
func (c *Client) DeleteSpamEntry(ctx context.Context, agent, entry string) error {
	return c.do(ctx, wire.DELETESPAMENTRY, []arg{str(agent), str(entry)}, nil)
}

// SearchSpamGuardAgent lists the account's agents matching pattern; ""
// sends no pattern (all agents) (draft 6.4.4).
func (c *Client) SearchSpamGuardAgent(ctx context.Context, pattern string) ([]string, error) {
	var args []arg
	if pattern != "" {
		args = []arg{str(pattern)}
	}
	var out []string
	err := c.do(ctx, wire.SEARCHSPAMGUARDAGENT, args, collect(wire.SEARCHSPAMGUARDAGENT, &out))
	return out, err
}

// StoreSpamGuardAgent creates an agent (draft 6.4.5).
func (c *Client) StoreSpamGuardAgent(ctx context.Context, name string) error {
	return c.do(ctx, wire.STORESPAMGUARDAGENT, []arg{str(name)}, nil)
}

// DeleteSpamGuardAgent deletes an agent and its entries (draft 6.4.6).
func (c *Client) DeleteSpamGuardAgent(ctx context.Context, name string) error {
	return c.do(ctx, wire.DELETESPAMGUARDAGENT, []arg{str(name)}, nil)
}

// VerifyInSpamGuardAgent asks whether sender may mail recipient (draft
// 6.5.1): nil is not blocked; an *Error with code BLOCKED, NONEXISTENT,
// UNAVAILABLE or NOPERM otherwise.
func (c *Client) VerifyInSpamGuardAgent(ctx context.Context, sender, recipient string) error {
	return c.do(ctx, wire.VERIFYINSPAMGUARDAGENT, []arg{str(sender), str(recipient)}, nil)
}

// VerifySubinbox asks whether subinbox exists in address's account (draft
// 6.5.2): nil if it does, an *Error with code NONEXISTENT or NOPERM if not.
func (c *Client) VerifySubinbox(ctx context.Context, subinbox, address string) error {
	return c.do(ctx, wire.VERIFYSUBINBOX, []arg{str(subinbox), str(address)}, nil)
}
