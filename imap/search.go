package imap

import (
	"bufio"
	"bytes"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
	gomessage "github.com/emersion/go-message"
	"github.com/emersion/go-message/mail"
	"github.com/emersion/go-message/textproto"

	"immp/maildir"
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
	}
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
	if !matchDate(c.m.InternalDate, cr.Since, cr.Before) {
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
	raw := c.content()
	h, err := textproto.ReadHeader(bufio.NewReader(bytes.NewReader(raw)))
	if err != nil {
		return false
	}
	header := mail.Header{Header: gomessage.Header{Header: h}}
	for _, hc := range cr.Header {
		if !matchHeader(header.FieldsByKey(hc.Key), hc.Value) {
			return false
		}
	}
	if !cr.SentSince.IsZero() || !cr.SentBefore.IsZero() {
		t, err := header.Date()
		if err != nil || !matchDate(t, cr.SentSince, cr.SentBefore) {
			return false
		}
	}
	for _, text := range cr.Text {
		if !matchEntity(raw, text, true) {
			return false
		}
	}
	for _, body := range cr.Body {
		if !matchEntity(raw, body, false) {
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

func matchHeader(fields gomessage.HeaderFields, pattern string) bool {
	if pattern == "" {
		return fields.Len() > 0
	}
	pattern = strings.ToLower(pattern)
	for fields.Next() {
		v, _ := fields.Text()
		if strings.Contains(strings.ToLower(v), pattern) {
			return true
		}
	}
	return false
}

// matchEntity searches decoded text parts (and headers for TEXT).
func matchEntity(raw []byte, pattern string, withHeader bool) bool {
	e, err := gomessage.Read(bytes.NewReader(raw))
	if e == nil {
		return bytes.Contains(bytes.ToLower(raw), bytes.ToLower([]byte(pattern)))
	}
	_ = err
	return matchPart(e, strings.ToLower(pattern), withHeader)
}

func matchPart(e *gomessage.Entity, pattern string, withHeader bool) bool {
	if withHeader && matchHeader(e.Header.Fields(), pattern) {
		return true
	}
	if mr := e.MultipartReader(); mr != nil {
		for {
			p, err := mr.NextPart()
			if err != nil {
				return false
			}
			if matchPart(p, pattern, withHeader) {
				return true
			}
		}
	}
	t, _, _ := e.Header.ContentType()
	if t != "" && !strings.HasPrefix(t, "text/") && !strings.HasPrefix(t, "message/") {
		return false
	}
	b, err := io.ReadAll(io.LimitReader(e.Body, 32<<20))
	if err != nil && len(b) == 0 {
		return false
	}
	return bytes.Contains(bytes.ToLower(b), []byte(pattern))
}
