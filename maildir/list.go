package maildir

import (
	"context"
	"sort"
	"strings"
)

// MatchPattern reports whether name matches an IMAP LIST pattern (RFC
// 9051 6.3.9): "*" matches anything, "%" anything but the separator "/".
// Matching ignores case when fold is set (subinbox lookups, profile 5).
func MatchPattern(pattern, name string, fold bool) bool {
	if fold {
		pattern, name = strings.ToLower(pattern), strings.ToLower(name)
	}
	return match(pattern, name)
}

// match runs in O(len(p)*len(n)) time whatever the wildcards: a
// backtracking matcher is exponential in runs of "%" and "*", which a
// client controls (one LIST line can carry thousands of them).
func match(p, n string) bool {
	// cur[j]: the pattern so far matches n[:j].
	cur := make([]bool, len(n)+1)
	next := make([]bool, len(n)+1)
	cur[0] = true
	for i := 0; i < len(p); i++ {
		c := p[i]
		switch c {
		case '*', '%':
			run := false
			for j := 0; j <= len(n); j++ {
				run = run || cur[j]
				next[j] = run
				if c == '%' && j < len(n) && n[j] == '/' {
					// n[k:j+1] would hold a hierarchy delimiter.
					run = false
				}
			}
		default:
			next[0] = false
			for j := 0; j < len(n); j++ {
				next[j+1] = cur[j] && n[j] == c
			}
		}
		cur, next = next, cur
	}
	return cur[len(n)]
}

// ListEntry is one subinbox as IMMP LIST returns it (profile 6).
type ListEntry struct {
	Name        string // as to be written on the wire
	Folder      string // its absolute name
	HasChildren bool
}

// ListSubinboxes answers IMMP "LIST reference pattern" (profile 6). If
// the reference is in absolute form (or empty with a pattern beginning
// with INBOX), names are matched and returned in absolute form as
// reference + pattern, echoing the spelling of the literal part given
// ("inbox/Mail/" "%" gives "inbox/Mail/foo"). Otherwise the reference is
// a parent in address form and the pattern is matched against the path
// below it, root first; names come back in address form ("work" "%" gives
// "office/work"). Matching ignores case. `LIST "" ""` (the separator
// query) is the wire layer's: it gets no entries here. Results are sorted
// by absolute name.
func (s *Store) ListSubinboxes(ctx context.Context, acct Account, reference, pattern string) ([]ListEntry, error) {
	if reference == "" && pattern == "" {
		return nil, nil
	}
	list, err := s.listFolders(acct)
	if err != nil {
		return nil, err
	}
	var subs []string
	for _, n := range list {
		if IsSubinbox(n) {
			subs = append(subs, n)
		}
	}
	absolute := isAbsoluteRef(reference) || (reference == "" && len(pattern) >= 5 && isInbox(pattern[:5]) && (len(pattern) == 5 || pattern[5] == '/'))
	var out []ListEntry
	if absolute {
		full := reference + pattern
		lit := full
		if i := strings.IndexAny(full, "*%"); i >= 0 {
			lit = full[:i]
		}
		for _, f := range subs {
			if !MatchPattern(full, f, true) {
				continue
			}
			name := f
			if len(lit) <= len(f) && strings.EqualFold(lit, f[:len(lit)]) {
				name = lit + f[len(lit):]
			}
			out = append(out, ListEntry{Name: name, Folder: f, HasChildren: hasChildren(list, f)})
		}
	} else {
		comps, err := ParseSubinbox(reference)
		if err != nil {
			return nil, err
		}
		parent := AbsoluteName(comps)
		pattern = strings.TrimSuffix(pattern, Separator)
		for _, f := range subs {
			if len(f) <= len(parent)+1 || !strings.EqualFold(f[:len(parent)+1], parent+Separator) {
				continue
			}
			rel := f[len(parent)+1:]
			if !MatchPattern(pattern, rel, true) {
				continue
			}
			out = append(out, ListEntry{Name: AddressName(splitFolder(f)[1:]), Folder: f, HasChildren: hasChildren(list, f)})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Folder < out[j].Folder })
	return out, nil
}

func isAbsoluteRef(ref string) bool {
	return len(ref) >= 5 && isInbox(ref[:5]) && (len(ref) == 5 || ref[5] == '/')
}
