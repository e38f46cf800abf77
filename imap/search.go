package imap

import (
	"bytes"
	"slices"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"

	"github.com/immp-mail/immp/internal/mimeparse"
	"github.com/immp-mail/immp/maildir"
)

// candidate is one message under test, with its content loaded lazily:
// flags, size, dates and numbers never read the file.
type candidate struct {
	seq    uint32
	m      maildir.Message
	recent bool
	load   func() []byte
	raw    []byte
	loaded bool
	msg    *message // raw with its part tree, once a content key needs it
}

func (c *candidate) content() []byte {
	if !c.loaded {
		c.raw, c.loaded = c.load(), true
	}
	return c.raw
}

// Search answers SEARCH and UID SEARCH, with ESEARCH and SEARCHRES
// (RFC 4731, RFC 5182) handled by imapserver from the data returned.
func (s *session) Search(kind imapserver.NumKind, criteria *imap.SearchCriteria, options *imap.SearchOptions) (data *imap.SearchData, err error) {
	defer s.track("SEARCH")(&err)
	s.srv.injectFault("SEARCH")
	v, err := s.selected()
	if err != nil {
		return nil, err
	}
	all := v.resolve(imap.SeqSet{imap.SeqRange{Start: 1, Stop: 0}})
	cmax := uint32(len(v.uids))
	var umax uint32
	if cmax > 0 {
		umax = v.uids[cmax-1]
	}
	cands := make([]candidate, len(all))
	for i, t := range all {
		uid := t.m.UID
		cands[i] = candidate{seq: t.seq, m: t.m, recent: v.recent[uid], load: func() []byte {
			raw, _ := v.readMessage(s.ctx, uid)
			return raw
		}}
	}
	staticCriteria(criteria, v.searchRes, cmax, umax)

	data = &imap.SearchData{}
	var ms searchModSeq // condstore.go
	var seqs imap.SeqSet
	var uids imap.UIDSet
	for i := range cands {
		c := &cands[i]
		if !matchCriteria(c, criteria) {
			continue
		}
		uids.AddNum(imap.UID(c.m.UID))
		num := c.seq
		if kind == imapserver.NumKindUID {
			num = c.m.UID
		} else {
			seqs.AddNum(c.seq)
		}
		if data.Min == 0 || num < data.Min {
			data.Min = num
		}
		data.Max = max(data.Max, num)
		data.Count++
		ms.add(c.m.ModSeq)
	}
	data.ModSeq = ms.result(criteria, options)
	if kind == imapserver.NumKindUID {
		data.All = uids
	} else {
		data.All = seqs
	}
	if options.ReturnSave {
		v.searchRes = uids
	}
	return data, nil
}

// staticCriteria resolves "*" and "$" in number sets before matching.
func staticCriteria(c *imap.SearchCriteria, res imap.UIDSet, cmax, umax uint32) {
	var seqs []imap.SeqSet
	for _, set := range c.SeqNum {
		if imap.IsSearchRes(set) {
			c.UID = append(c.UID, slices.Clone(res))
			continue
		}
		set = slices.Clone(set)
		for i := range set {
			set[i].Start, set[i].Stop = staticRange(set[i].Start, set[i].Stop, cmax)
		}
		seqs = append(seqs, set)
	}
	c.SeqNum = seqs
	for j, set := range c.UID {
		if imap.IsSearchRes(set) {
			c.UID[j] = slices.Clone(res)
			continue
		}
		set = slices.Clone(set)
		for i := range set {
			a, b := staticRange(uint32(set[i].Start), uint32(set[i].Stop), umax)
			set[i].Start, set[i].Stop = imap.UID(a), imap.UID(b)
		}
		c.UID[j] = set
	}
	for i := range c.Not {
		staticCriteria(&c.Not[i], res, cmax, umax)
	}
	for i := range c.Or {
		staticCriteria(&c.Or[i][0], res, cmax, umax)
		staticCriteria(&c.Or[i][1], res, cmax, umax)
	}
}

func hasFlag(c *candidate, f imap.Flag) bool {
	if strings.EqualFold(string(f), `\Recent`) {
		return c.recent
	}
	for _, have := range c.m.Flags {
		if strings.EqualFold(have, string(f)) {
			return true
		}
	}
	return false
}

// matchCriteria follows RFC 9051 6.4.4; cheap keys are tested first so
// that the file is read only when a content key must decide.
func matchCriteria(c *candidate, cr *imap.SearchCriteria) bool {
	for _, set := range cr.SeqNum {
		if !set.Contains(c.seq) {
			return false
		}
	}
	for _, set := range cr.UID {
		if !set.Contains(imap.UID(c.m.UID)) {
			return false
		}
	}
	for _, f := range cr.Flag {
		if !hasFlag(c, f) {
			return false
		}
	}
	for _, f := range cr.NotFlag {
		if hasFlag(c, f) {
			return false
		}
	}
	if !matchDate(c.m.InternalDate, cr.Since, cr.Before) || !matchModSeq(c, cr) {
		return false
	}
	if cr.Larger != 0 && c.m.Size <= cr.Larger {
		return false
	}
	if cr.Smaller != 0 && c.m.Size >= cr.Smaller {
		return false
	}
	for i := range cr.Not {
		if matchCriteria(c, &cr.Not[i]) {
			return false
		}
	}
	for _, or := range cr.Or {
		if !matchCriteria(c, &or[0]) && !matchCriteria(c, &or[1]) {
			return false
		}
	}
	if len(cr.Header) == 0 && cr.SentSince.IsZero() && cr.SentBefore.IsZero() && len(cr.Body) == 0 && len(cr.Text) == 0 {
		return true
	}
	if c.msg == nil {
		c.msg = &message{raw: c.content()}
	}
	msg := c.msg
	header := msg.top().Header(msg.raw)
	for _, hc := range cr.Header {
		if !matchHeader(header, hc.Key, hc.Value) {
			return false
		}
	}
	if !cr.SentSince.IsZero() || !cr.SentBefore.IsZero() {
		v, ok := mimeparse.HeaderValue(header, "Date")
		if !ok {
			return false
		}
		t := parseDate(mimeparse.CollapseSpace(string(v)))
		if t.IsZero() || !matchDate(t, cr.SentSince, cr.SentBefore) {
			return false
		}
	}
	for _, text := range cr.Text {
		if !matchEntity(msg, text, true) {
			return false
		}
	}
	for _, body := range cr.Body {
		if !matchEntity(msg, body, false) {
			return false
		}
	}
	return true
}

// matchDate compares dates only, ignoring time and zone (RFC 9051 6.4.4).
func matchDate(t, since, before time.Time) bool {
	d := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
	if !since.IsZero() && d.Before(since) {
		return false
	}
	if !before.IsZero() && !d.Before(before) {
		return false
	}
	return true
}

// matchHeader is HEADER, FROM, TO, CC, BCC and SUBJECT (RFC 9051 6.4.4):
// a case-insensitive substring of some field of that name, encoded-words
// decoded; an empty pattern asks only that the field exist. An address
// field also matches in its normalized form, as Dovecot searches it
// (comments dropped, "Name <user@host>", groups as "group: a, b;"), so
// that FROM "user@host" finds "user (comment) @ host" and FROM "Real"
// finds "user@host (Real)".
func matchHeader(header []byte, key, pattern string) bool {
	pattern = fold(pattern)
	address := false
	for _, k := range []string{"from", "to", "cc", "bcc"} {
		address = address || strings.EqualFold(key, k)
	}
	for f := range mimeparse.Fields(header) {
		if !f.NameIs(key) {
			continue
		}
		if pattern == "" {
			return true
		}
		text := mimeparse.DecodeHeader(mimeparse.Unfold(f.Value))
		if strings.EqualFold(key, "subject") {
			text = mimeparse.CollapseSpace(text)
		}
		if strings.Contains(fold(text), pattern) {
			return true
		}
		if address {
			list := mimeparse.ParseAddressList(string(f.Value), 0)
			norm := mimeparse.DecodeHeader(mimeparse.FormatAddressList(list))
			if strings.Contains(fold(norm), pattern) {
				return true
			}
		}
	}
	return false
}

// fold is the comparison form of text: lower case, Unicode-aware.
func fold(s string) string { return strings.ToLower(s) }

// matchEntity searches the decoded text of the message's text/* and
// message/* leaves (BODY), and for TEXT also every header of every part
// (RFC 9051 6.4.4). The part tree is walked with an explicit stack.
func matchEntity(msg *message, pattern string, withHeader bool) bool {
	pattern = fold(pattern)
	stack := []*mimeparse.Part{msg.tree()}
	for len(stack) > 0 {
		pt := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if withHeader {
			for f := range mimeparse.Fields(pt.Header(msg.raw)) {
				line := string(f.Name) + ": " + mimeparse.DecodeHeader(mimeparse.Unfold(f.Value))
				if strings.Contains(fold(line), pattern) {
					return true
				}
			}
		}
		if pt.Kind != mimeparse.Leaf {
			for i := len(pt.Parts) - 1; i >= 0; i-- {
				stack = append(stack, pt.Parts[i])
			}
			continue
		}
		if pt.IsText() && bytes.Contains(bytes.ToLower(pt.Text(msg.raw)), []byte(pattern)) {
			return true
		}
	}
	return false
}
