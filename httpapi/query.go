package httpapi

import (
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// filter is a search over messages, from the query of GET
// /api/v1/messages (and of wait and events). Every field set must match;
// string fields are case-insensitive substrings.
type filter struct {
	Account string // exact account address
	Folder  string // exact folder name
	From    string // in the From address or name
	To      string // in a To or Cc address or name, or the account's address
	Subject string
	Text    string // in the body's text (text/plain or text/html parts)
	Any     []string
	Since   time.Time // received at or after
	Before  time.Time // received before
	Seen    *bool
}

// needsBody says whether matching reads message bodies.
func (f *filter) needsBody() bool { return f.Text != "" || len(f.Any) > 0 }

// Limits of a query.
const (
	maxQueryLen  = 4096
	maxTerms     = 32
	DefaultLimit = 50
	MaxLimit     = 1000
)

// parseFilter reads the query parameters account, folder, from, to,
// subject, text, since, before, seen and q. q is a search expression:
// space-separated terms, each "key:value" (keys from, to, subject, text
// or body, folder, account, since or after, before, is:seen, is:unseen)
// or a bare word matched anywhere (from, to, subject, text); a value may
// be in double quotes to hold spaces. Dates are RFC 3339 or YYYY-MM-DD.
func parseFilter(q url.Values) (filter, error) {
	var f filter
	set := func(key, v string) error {
		switch strings.ToLower(key) {
		case "account":
			f.Account = strings.ToLower(v)
		case "folder":
			f.Folder = v
		case "from":
			f.From = strings.ToLower(v)
		case "to":
			f.To = strings.ToLower(v)
		case "subject":
			f.Subject = strings.ToLower(v)
		case "text", "body":
			f.Text = strings.ToLower(v)
		case "since", "after":
			t, err := parseDate(v)
			if err != nil {
				return errorf(400, "%s: %v", key, err)
			}
			f.Since = t
		case "before":
			t, err := parseDate(v)
			if err != nil {
				return errorf(400, "%s: %v", key, err)
			}
			f.Before = t
		case "seen":
			b, err := strconv.ParseBool(v)
			if err != nil {
				return errorf(400, "seen: want true or false")
			}
			f.Seen = &b
		case "is":
			switch strings.ToLower(v) {
			case "seen", "read":
				b := true
				f.Seen = &b
			case "unseen", "unread", "new":
				b := false
				f.Seen = &b
			default:
				return errorf(400, "q: is:%s: want is:seen or is:unseen", v)
			}
		default:
			return errorf(400, "q: unknown search key %q (from, to, subject, text, folder, account, since, before, is)", key)
		}
		return nil
	}
	for _, k := range []string{"account", "folder", "from", "to", "subject", "text", "since", "before", "seen"} {
		if v := q.Get(k); v != "" {
			if len(v) > maxQueryLen {
				return f, errorf(400, "%s: longer than %d octets", k, maxQueryLen)
			}
			if err := set(k, v); err != nil {
				return f, err
			}
		}
	}
	terms, err := splitTerms(q.Get("q"))
	if err != nil {
		return f, err
	}
	for _, t := range terms {
		if key, v, ok := strings.Cut(t.text, ":"); ok && !t.quotedKey && key != "" && isKey(key) {
			if err := set(key, v); err != nil {
				return f, err
			}
			continue
		}
		f.Any = append(f.Any, strings.ToLower(t.text))
	}
	return f, nil
}

func isKey(k string) bool {
	switch strings.ToLower(k) {
	case "account", "folder", "from", "to", "subject", "text", "body", "since", "after", "before", "seen", "is":
		return true
	}
	return false
}

type term struct {
	text      string
	quotedKey bool // the whole term was quoted: "a:b" is a word
}

// splitTerms splits a q expression into terms: blanks separate, double
// quotes group (key:"two words" or "two words"), \" and \\ escape inside
// quotes. An unclosed quote is an error.
func splitTerms(q string) ([]term, error) {
	if len(q) > maxQueryLen {
		return nil, errorf(400, "q: longer than %d octets", maxQueryLen)
	}
	if !utf8.ValidString(q) {
		return nil, errorf(400, "q: not UTF-8")
	}
	var out []term
	var cur strings.Builder
	in, started, quotedStart := false, false, false
	flush := func() {
		if started {
			out = append(out, term{text: cur.String(), quotedKey: quotedStart})
		}
		cur.Reset()
		started, quotedStart = false, false
	}
	for i := 0; i < len(q); i++ {
		c := q[i]
		switch {
		case in && c == '\\' && i+1 < len(q) && (q[i+1] == '"' || q[i+1] == '\\'):
			i++
			cur.WriteByte(q[i])
		case c == '"':
			if !started {
				quotedStart = true
			}
			started = true
			in = !in
		case !in && (c == ' ' || c == '\t'):
			flush()
		default:
			started = true
			cur.WriteByte(c)
		}
	}
	if in {
		return nil, errorf(400, "q: unclosed quote")
	}
	flush()
	if len(out) > maxTerms {
		return nil, errorf(400, "q: more than %d terms", maxTerms)
	}
	return out, nil
}

func parseDate(v string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return t, nil
	}
	if t, err := time.ParseInLocation(time.DateOnly, v, time.UTC); err == nil {
		return t, nil
	}
	return time.Time{}, errorf(400, "not a date: %q (want RFC 3339 or YYYY-MM-DD)", v)
}

// page reads limit and start: limit 1..MaxLimit (default DefaultLimit),
// start >= 0.
func page(q url.Values) (limit, start int, err error) {
	limit, start = DefaultLimit, 0
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > MaxLimit {
			return 0, 0, errorf(400, "limit: want 1 to %d", MaxLimit)
		}
		limit = n
	}
	if v := q.Get("start"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return 0, 0, errorf(400, "start: want 0 or more")
		}
		start = n
	}
	return limit, start, nil
}
