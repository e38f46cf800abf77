package foldername

import (
	"slices"
	"sort"
	"strings"
)

// Entry is one subinbox as IMMP LIST returns it (profile 6).
type Entry struct {
	Name        string // as written on the wire
	Folder      string // the folder's absolute name, as stored
	HasChildren bool
}

// AbsoluteList reports whether IMMP "LIST reference pattern" lists in
// absolute form (profile 6): the reference is INBOX or begins with
// "INBOX/", or it is empty and the pattern's first component is INBOX
// ("INBOX", "inbox/%", "INBOX*"; any case). A subinbox may be called
// "inboxes", so `LIST "" "inboxes"` stays in address form.
func AbsoluteList(reference, pattern string) bool {
	if reference != "" {
		return isAbsolute(reference)
	}
	return len(pattern) >= 5 && IsInbox(pattern[:5]) &&
		(len(pattern) == 5 || strings.IndexByte("/*%", pattern[5]) >= 0)
}

// ListSubinboxes answers IMMP "LIST reference pattern" (draft 6.3.6,
// profile 6) over folders, the absolute names of an account's folders as
// stored (those outside INBOX are ignored; INBOX is there whether or not
// folders holds it). It is the one implementation behind the IMMP server
// and the IMAP fallback client (draft 5.6), so both answer alike.
//
// Absolute form (AbsoluteList): names are matched against Join(reference,
// pattern), the reference followed by the pattern, and returned absolute;
// the reference's own spelling is echoed
// for the components it covers ("inbox/Mail/" "%" gives "inbox/Mail/foo",
// the draft's example), the rest is spelled as stored. INBOX itself is
// listed only in this form.
//
// Address form: the reference, in address form, is the parent ("" the
// root); the pattern is matched against the address form of each
// descendant's path below it, leaf first; names come back in address form
// with the reference appended as given, without its trailing "/" ("work"
// "%" gives "office/work"). A reference that cannot be a subinbox lists
// nothing.
//
// Matching ignores case (profile 5). `LIST "" ""` (the separator query) is
// the wire layer's: it gets no entries here. Entries are sorted by Name.
func ListSubinboxes(folders []string, reference, pattern string) []Entry {
	if pattern == "" {
		return nil
	}
	subs := []string{"INBOX"}
	parents := map[string]bool{}
	for _, f := range folders {
		if !IsSubinbox(f) {
			continue
		}
		if f != "INBOX" {
			subs = append(subs, f)
		}
		parents[Fold(Parent(f))] = true
	}
	var out []Entry
	add := func(name, folder string) {
		out = append(out, Entry{Name: name, Folder: folder, HasChildren: parents[Fold(folder)]})
	}
	if AbsoluteList(reference, pattern) {
		full := Join(reference, pattern)
		echo := Split(strings.TrimSuffix(reference, Separator))
		for _, f := range subs {
			if !matchFold(full, f) {
				continue
			}
			name := f
			if reference != "" {
				if fc := Split(f); foldPrefix(fc, echo) {
					name = strings.Join(slices.Concat(echo, fc[len(echo):]), Separator)
				}
			}
			add(name, f)
		}
	} else {
		parent, err := ParseSubinbox(reference)
		if err != nil {
			return nil
		}
		suffix := strings.TrimSuffix(reference, Separator)
		for _, f := range subs[1:] {
			fc := Split(f)[1:] // root first, INBOX excluded
			if len(fc) <= len(parent) || !foldPrefix(fc, parent) {
				continue
			}
			rel := AddressName(fc[len(parent):])
			if !matchFold(pattern, rel) {
				continue
			}
			name := rel
			if suffix != "" {
				name += Separator + suffix
			}
			add(name, f)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// foldPrefix reports whether comps begins with prefix, component by
// component, ignoring case.
func foldPrefix(comps, prefix []string) bool {
	if len(comps) < len(prefix) {
		return false
	}
	for i, p := range prefix {
		if !strings.EqualFold(comps[i], p) {
			return false
		}
	}
	return true
}
