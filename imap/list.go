package imap

import (
	"reflect"
	"slices"
	"strings"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"

	"github.com/immp-mail/immp/internal/foldername"
	"github.com/immp-mail/immp/maildir"
)

// List answers LIST (RFC 9051 6.3.9), LIST-EXTENDED (RFC 5258),
// LIST-STATUS (RFC 5819) and LSUB (RFC 3501 6.3.9). imapserver parses the
// command (patterns decoded from modified UTF-7, selection and return
// options, RECURSIVEMATCH without SUBSCRIBED refused) and maps LSUB to
// SELECT SUBSCRIBED; which names match and what attributes they carry is
// decided here (listSelect), with foldername's Join and Match, the rules
// IMMP LIST uses too.
func (s *session) List(w *imapserver.ListWriter, ref string, patterns []string, options *imap.ListOptions) (err error) {
	defer s.track("LIST")(&err)
	if len(patterns) == 0 {
		// LIST "" "": the hierarchy delimiter (RFC 9051 6.3.9).
		return w.WriteList(&imap.ListData{Attrs: []imap.MailboxAttr{imap.MailboxAttrNoSelect}, Delim: '/', Mailbox: ""})
	}
	for _, p := range patterns {
		if len(ref)+len(p) > maxPattern {
			return errPatternTooLong
		}
	}
	folders, err := s.srv.opts.Store.Folders(s.ctx, s.acct)
	if err != nil {
		return err
	}
	var subs []string
	if options.SelectSubscribed {
		// Subscribed names that are not folders (any more) are listed too.
		if subs, err = s.srv.opts.Store.Subscriptions(s.ctx, s.acct); err != nil {
			return err
		}
	}
	for _, data := range listSelect(folders, subs, ref, patterns, options, isLSUB(w)) {
		if options.ReturnStatus != nil && !slices.Contains(data.Attrs, imap.MailboxAttrNoSelect) &&
			!slices.Contains(data.Attrs, imap.MailboxAttrNonExistent) {
			if st, err := s.status(data.Mailbox, options.ReturnStatus); err == nil {
				data.Status = st
			}
		}
		if err := w.WriteList(data); err != nil {
			return err
		}
	}
	return nil
}

// maxPattern bounds a LIST pattern with its reference, in octets: matching
// costs len(pattern) x len(name) per folder, and a command line may be
// 50 KiB. Folder names are far shorter (a component is at most 255).
const maxPattern = 4096

var errPatternTooLong = &imap.Error{Type: imap.StatusResponseTypeBad, Code: imap.ResponseCodeLimit,
	Text: "LIST pattern too long"}

// isLSUB tells LSUB from LIST (SUBSCRIBED): imapserver hands both the same
// options and marks LSUB only in its ListWriter's unexported field, and
// the two differ (RFC 3501 6.3.9's \Noselect parents, RFC 5258's CHILDINFO).
func isLSUB(w *imapserver.ListWriter) bool {
	if w == nil {
		return false
	}
	f := reflect.ValueOf(w).Elem().FieldByName("lsub")
	return f.IsValid() && f.Kind() == reflect.Bool && f.Bool()
}

// listNode is one name LIST may show: a folder, a level of the hierarchy
// above folders, or a subscribed name (which need not exist).
type listNode struct {
	name       string
	exists     bool
	subscribed bool
	specialUse string
	children   bool // a folder lies below
	subBelow   []string
}

// listKey identifies a name: ignoring case inside INBOX (profile 5),
// exactly elsewhere (RFC 9051 5.1).
func listKey(name string) string {
	if foldername.IsSubinbox(name) {
		return foldername.Fold(name)
	}
	return name
}

// listTree builds every name LIST may show from the account's folders and
// subscriptions, INBOX and its subinboxes first, then the rest by name.
func listTree(folders []maildir.FolderInfo, subs []string) []*listNode {
	nodes := map[string]*listNode{}
	node := func(name string) *listNode {
		k := listKey(name)
		n := nodes[k]
		if n == nil {
			n = &listNode{name: name}
			nodes[k] = n
		}
		return n
	}
	for _, f := range folders {
		n := node(f.Name)
		n.name, n.exists, n.specialUse = f.Name, true, f.SpecialUse
		n.subscribed = n.subscribed || f.Subscribed
		for p := foldername.Parent(f.Name); p != ""; p = foldername.Parent(p) {
			node(p).children = true
		}
	}
	for _, s := range subs {
		node(s).subscribed = true
		for p := foldername.Parent(s); p != ""; p = foldername.Parent(p) {
			a := node(p)
			a.subBelow = append(a.subBelow, s)
		}
	}
	out := make([]*listNode, 0, len(nodes))
	for _, n := range nodes {
		out = append(out, n)
	}
	slices.SortFunc(out, func(a, b *listNode) int {
		ai, bi := foldername.IsSubinbox(a.name), foldername.IsSubinbox(b.name)
		if ai != bi {
			if ai {
				return -1
			}
			return 1
		}
		return strings.Compare(a.name, b.name)
	})
	return out
}

// listSelect decides what LIST, LIST-EXTENDED or LSUB returns:
//
//   - LIST: folders matching a pattern, and levels of the hierarchy with
//     folders below (\Noselect); SPECIAL-USE selects special-use folders.
//   - LIST (SUBSCRIBED): subscribed names matching a pattern, with
//     \Subscribed, and \NonExistent if no such folder exists (RFC 5258
//     3.1). With RECURSIVEMATCH, also a matching name that has a
//     subscribed descendant matching no pattern, with CHILDINFO
//     ("SUBSCRIBED") (RFC 5258 3.5).
//   - LSUB: subscribed names matching the pattern, without attributes
//     whether or not they exist (as Dovecot answers); and a name that is
//     not subscribed but matches, above a subscribed name that "%" kept
//     out (the pattern with every "%" read as "*" would match it), with
//     \Noselect (RFC 3501 6.3.9).
//
// Children are \HasChildren or \HasNoChildren (RFC 3348, CHILDREN) for
// plain LIST and RETURN (CHILDREN), subscriptions \Subscribed where asked
// (RETURN SUBSCRIBED), special-use attributes always (RFC 6154 2).
func listSelect(folders []maildir.FolderInfo, subs []string, ref string, patterns []string, o *imap.ListOptions, lsub bool) []*imap.ListData {
	full := make([]string, len(patterns))
	for i, p := range patterns {
		full[i] = foldername.Join(ref, p)
	}
	matched := func(name string) bool {
		for _, p := range full {
			if foldername.Match(p, name) {
				return true
			}
		}
		return false
	}
	// Children attributes come with plain LIST (RFC 3348) and where asked
	// (RETURN CHILDREN); other extended commands (options, several
	// patterns) leave them out, as Dovecot does (RFC 5258 4: the server
	// MAY return them). Under SUBSCRIBED, subscribed names below count as
	// children, as they do for Dovecot.
	extended := o.SelectSubscribed || o.SelectRemote || o.SelectSpecialUse ||
		o.ReturnSubscribed || o.ReturnSpecialUse || o.ReturnStatus != nil || len(patterns) > 1
	children := o.ReturnChildren || !extended
	var out []*imap.ListData
	for _, n := range listTree(folders, subs) {
		if !matched(n.name) {
			continue
		}
		data := &imap.ListData{Delim: '/', Mailbox: n.name}
		attr := func(a imap.MailboxAttr) { data.Attrs = append(data.Attrs, a) }
		switch {
		case lsub:
			if !n.subscribed && !slices.ContainsFunc(n.subBelow, func(s string) bool {
				return !matched(s) && foldername.Match(strings.ReplaceAll(full[0], "%", "*"), s)
			}) {
				continue
			}
			if !n.subscribed {
				attr(imap.MailboxAttrNoSelect)
			}
			out = append(out, data)
			continue
		case o.SelectSubscribed:
			childInfo := o.SelectRecursiveMatch && slices.ContainsFunc(n.subBelow, func(s string) bool { return !matched(s) })
			if !n.subscribed && !childInfo {
				continue
			}
			if childInfo {
				data.ChildInfo = &imap.ListDataChildInfo{Subscribed: true}
			}
			if !n.exists {
				attr(imap.MailboxAttrNonExistent)
			}
		default:
			if !n.exists && !n.children {
				continue
			}
			if !n.exists {
				attr(imap.MailboxAttrNoSelect)
			}
		}
		if o.SelectSpecialUse && n.specialUse == "" {
			continue
		}
		switch {
		case !children:
		case n.children || (o.SelectSubscribed && len(n.subBelow) > 0):
			attr(imap.MailboxAttrHasChildren)
		default:
			attr(imap.MailboxAttrHasNoChildren)
		}
		if n.subscribed && (o.ReturnSubscribed || o.SelectSubscribed) {
			attr(imap.MailboxAttrSubscribed)
		}
		if n.specialUse != "" {
			attr(imap.MailboxAttr(n.specialUse))
		}
		out = append(out, data)
	}
	return out
}
