package immp

import (
	"sort"
	"strings"

	"immp/immp/wire"
	"immp/maildir"
)

// isAbsoluteName reports whether a subinbox name or pattern is in absolute
// form: INBOX itself or beginning with "INBOX/", any case (profile 5).
func isAbsoluteName(s string) bool {
	return strings.EqualFold(s, "INBOX") || (len(s) >= 6 && strings.EqualFold(s[:6], "INBOX/"))
}

// startsWithInbox: a pattern such as "INBOX*" or "inbox/%" (profile 6).
func startsWithInbox(s string) bool { return len(s) >= 5 && strings.EqualFold(s[:5], "INBOX") }

// draft 6.3.6 as fixed by profile 6.
func (c *conn) cmdList(cmd *wire.Command) error {
	ref, pattern := cmd.Args[0], cmd.Args[1]
	if pattern == "" {
		// RFC 9051 6.3.9: the hierarchy delimiter.
		return c.w.Data("LIST", wire.List{wire.Atom(`\Noselect`)}, wire.Quoted("/"), wire.Quoted(""))
	}
	if len(ref)+len(pattern) > maxPattern {
		return errBadCode(codeLimit, "Pattern too long")
	}
	folders, err := c.s.opts.Store.Folders(c.ctx, c.acct)
	if err != nil {
		return err
	}
	// Subinboxes only: INBOX and its descendants (profile 5).
	var names []string
	parents := make(map[string]bool)
	for _, f := range folders {
		if !maildir.IsSubinbox(f.Name) {
			continue
		}
		names = append(names, f.Name)
		for i := strings.LastIndexByte(f.Name, '/'); i > 0; i = strings.LastIndexByte(f.Name[:i], '/') {
			parents[strings.ToLower(f.Name[:i])] = true
		}
	}
	if !containsFold(names, "INBOX") {
		names = append(names, "INBOX")
	}
	type item struct{ out, abs string }
	var items []item
	if isAbsoluteName(ref) || (ref == "" && startsWithInbox(pattern)) {
		// Absolute form: match reference+pattern, echo the reference's
		// spelling (draft 6.3.6 example).
		full := ref + pattern
		for _, n := range names {
			if !match(full, n, true) {
				continue
			}
			out := n
			if ref != "" && len(n) >= len(ref) && strings.EqualFold(n[:len(ref)], ref) {
				out = ref + n[len(ref):]
			}
			items = append(items, item{out, n})
		}
	} else {
		// Address form: the reference is the parent; the pattern matches
		// the address form of the name below it, which is returned with
		// the reference appended, in the reference's spelling.
		comps, err := maildir.ParseSubinbox(ref)
		if err != nil {
			return nil // a reference that cannot exist has no children
		}
		base := strings.ToLower(maildir.AbsoluteName(comps)) + "/"
		suffix := strings.TrimSuffix(ref, "/")
		for _, n := range names {
			if len(n) <= len(base) || strings.ToLower(n[:len(base)]) != base {
				continue
			}
			rel := maildir.AddressName(strings.Split(n[len(base):], "/"))
			if !match(pattern, rel, true) {
				continue
			}
			out := rel
			if suffix != "" {
				out = rel + "/" + suffix
			}
			items = append(items, item{out, n})
		}
	}
	sort.Slice(items, func(i, j int) bool { return items[i].out < items[j].out })
	for _, it := range items {
		flag := wire.Atom(`\HasNoChildren`)
		if parents[strings.ToLower(it.abs)] {
			flag = `\HasChildren`
		}
		if err := c.w.Data("LIST", wire.List{flag}, wire.Quoted("/"), wire.AString(it.out)); err != nil {
			return err
		}
	}
	return nil
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}
