package imap

import (
	"net/mail"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2"

	"github.com/immp-mail/immp/internal/mimeparse"
)

// parsed is what ENVELOPE and BODYSTRUCTURE need of a message; a message
// never changes, so it is parsed once and kept (RFC 9051 2.3.1.1: a UID
// with its UIDVALIDITY names one message forever). size estimates the
// bytes it holds, for the cache's bound.
type parsed struct {
	envelope *imap.Envelope
	body     imap.BodyStructure
	size     int64
}

// parseMessage builds ENVELOPE and the extended BODYSTRUCTURE from one
// pass over the message (package mimeparse, with its default limits). It
// never fails and never returns a structure go-imap cannot write: every
// multipart has a child, every part has its extension data, every
// message/rfc822 part an envelope and a body.
func parseMessage(raw []byte) *parsed {
	root := mimeparse.Parse(raw, mimeparse.Limits{})
	b := &builder{msg: raw, budget: mimeparse.DefaultMaxAddresses}
	p := &parsed{envelope: b.envelope(root), body: b.structure(root)}
	p.size = footprint(p)
	return p
}

type builder struct {
	msg []byte
	// budget is how many addresses the message's envelopes may still
	// hold (all message/rfc822 parts together).
	budget int
}

// envelope builds RFC 9051 7.5.2's ENVELOPE from an entity's header, as
// Dovecot does: the last Date, Subject, In-Reply-To and Message-ID win,
// address fields that occur more than once are joined, Subject and names
// are kept as written (encoded-words are the client's to decode) with
// blanks collapsed. A route (obs-route) cannot be expressed through
// go-imap's Address and is left out.
func (b *builder) envelope(pt *mimeparse.Part) *imap.Envelope {
	env := &imap.Envelope{}
	var date, subject, inReplyTo, messageID []byte
	hasSubject := false
	for f := range mimeparse.Fields(pt.Header(b.msg)) {
		switch {
		case f.NameIs("Date"):
			date = f.Value
		case f.NameIs("Subject"):
			subject, hasSubject = f.Value, true
		case f.NameIs("In-Reply-To"):
			inReplyTo = f.Value
		case f.NameIs("Message-ID"):
			messageID = f.Value
		case f.NameIs("From"):
			env.From = b.addresses(env.From, f.Value)
		case f.NameIs("Sender"):
			env.Sender = b.addresses(env.Sender, f.Value)
		case f.NameIs("Reply-To"):
			env.ReplyTo = b.addresses(env.ReplyTo, f.Value)
		case f.NameIs("To"):
			env.To = b.addresses(env.To, f.Value)
		case f.NameIs("Cc"):
			env.Cc = b.addresses(env.Cc, f.Value)
		case f.NameIs("Bcc"):
			env.Bcc = b.addresses(env.Bcc, f.Value)
		}
	}
	if date != nil {
		env.Date = parseDate(mimeparse.CollapseSpace(string(date)))
	}
	if hasSubject {
		env.Subject = humanText(string(subject))
	}
	env.InReplyTo = msgIDs(string(inReplyTo), 0)
	if ids := msgIDs(string(messageID), 1); len(ids) > 0 {
		env.MessageID = ids[0]
	} else if s := mimeparse.CollapseSpace(string(messageID)); s != "" {
		env.MessageID = strings.Trim(s, "<>")
	}
	return env
}

// addresses appends a field's addresses (RFC 9051 7.5.2 address lists
// with group markers); the list stays nil when there are none, so that
// go-imap writes From for an empty Sender or Reply-To, as RFC 9051 asks.
func (b *builder) addresses(to []imap.Address, v []byte) []imap.Address {
	if b.budget < 2 {
		return to
	}
	list := mimeparse.ParseAddressList(string(v), b.budget)
	b.budget -= len(list)
	skipEnd := false
	for _, a := range list {
		switch a.Kind {
		case mimeparse.KindGroupStart:
			// go-imap writes "" as NIL, and (NIL NIL NIL NIL) is a
			// group's end: a group without a name gets no markers.
			name := mimeparse.CollapseSpace(a.Mailbox)
			if skipEnd = name == ""; skipEnd {
				continue
			}
			to = append(to, imap.Address{Mailbox: strings.ToValidUTF8(name, "\uFFFD")})
		case mimeparse.KindGroupEnd:
			if skipEnd {
				skipEnd = false
				continue
			}
			to = append(to, imap.Address{})
		default:
			to = append(to, imap.Address{
				Name:    humanText(a.Name),
				Route:   a.Route,
				Mailbox: a.Mailbox,
				Host:    a.Domain,
			})
		}
	}
	return to
}

// humanText is header text for display: blanks collapsed, NUL and
// invalid UTF-8 replaced (go-imap sends non-ASCII as UTF-8 encoded-words).
func humanText(s string) string {
	return strings.ToValidUTF8(mimeparse.CollapseSpace(s), "\uFFFD")
}

// msgIDs returns up to max (0: all) "<id>" tokens of a field, brackets
// removed (go-imap writes them back).
func msgIDs(v string, max int) []string {
	var ids []string
	for {
		i := strings.IndexByte(v, '<')
		if i < 0 {
			break
		}
		j := strings.IndexByte(v[i:], '>')
		if j < 0 {
			break
		}
		if id := mimeparse.CollapseSpace(v[i+1 : i+j]); id != "" {
			ids = append(ids, strings.ToValidUTF8(id, "\uFFFD"))
			if len(ids) == max {
				break
			}
		}
		v = v[i+j+1:]
	}
	return ids
}

// parseDate reads an RFC 5322 date; an unreadable one is NIL in ENVELOPE.
func parseDate(s string) time.Time {
	t, err := mail.ParseDate(s)
	if err != nil {
		return time.Time{}
	}
	return t
}

// structure builds the extended BODYSTRUCTURE (RFC 9051 7.5.2) of a part.
func (b *builder) structure(pt *mimeparse.Part) imap.BodyStructure {
	var disp *imap.BodyStructureDisposition
	var lang []string
	var id, desc, enc, loc string
	if pt.MIME {
		for f := range mimeparse.Fields(pt.Header(b.msg)) {
			switch {
			case f.NameIs("Content-Transfer-Encoding") && enc == "":
				enc = mimeparse.ParseEncoding(string(f.Value))
			case f.NameIs("Content-ID") && id == "":
				id = cleanString(f.Value)
			case f.NameIs("Content-Description") && desc == "":
				desc = cleanString(f.Value)
			case f.NameIs("Content-Location") && loc == "":
				loc = cleanString(f.Value)
			case f.NameIs("Content-Language") && lang == nil:
				lang = mimeparse.ParseLanguage(string(f.Value))
			case f.NameIs("Content-Disposition") && disp == nil:
				if v, params := mimeparse.ParseDisposition(string(f.Value)); v != "" {
					disp = &imap.BodyStructureDisposition{Value: cleanString([]byte(v)), Params: paramMap(params, false)}
				}
			}
		}
	}
	if pt.Kind == mimeparse.Multipart {
		mp := &imap.BodyStructureMultiPart{
			Subtype: pt.Subtype,
			Extended: &imap.BodyStructureMultiPartExt{
				Params: paramMap(pt.Params, false), Disposition: disp, Language: lang, Location: loc,
			},
		}
		for _, c := range pt.Parts {
			mp.Children = append(mp.Children, b.structure(c))
		}
		if len(mp.Children) == 0 {
			// No parts found (no boundary, or none in the body): one
			// empty text/plain, as Dovecot writes; IMAP has no empty
			// multipart.
			mp.Children = []imap.BodyStructure{emptyText()}
		}
		return mp
	}
	sp := &imap.BodyStructureSinglePart{
		Type: pt.Type, Subtype: pt.Subtype, Params: paramMap(pt.Params, pt.Type == "text"),
		ID: id, Description: desc, Encoding: enc,
		Size:     uint32(min(pt.End-pt.BodyStart, 1<<32-1)),
		Extended: &imap.BodyStructureSinglePartExt{Disposition: disp, Language: lang, Location: loc},
	}
	switch {
	case pt.Truncated:
		// A container a limit kept closed (Dovecot does the same).
		sp.Type, sp.Subtype = "application", "octet-stream"
		sp.Params = paramMap(pt.Params, false)
	case pt.Kind == mimeparse.Message:
		child := pt.Parts[0]
		sp.MessageRFC822 = &imap.BodyStructureMessageRFC822{
			Envelope: b.envelope(child), BodyStructure: b.structure(child), NumLines: int64(pt.Lines),
		}
	case pt.Type == "text":
		sp.Text = &imap.BodyStructureText{NumLines: int64(pt.Lines)}
	}
	return sp
}

func emptyText() imap.BodyStructure {
	return &imap.BodyStructureSinglePart{
		Type: "text", Subtype: "plain", Params: map[string]string{"charset": "us-ascii"},
		Encoding: "7bit", Text: &imap.BodyStructureText{},
		Extended: &imap.BodyStructureSinglePartExt{},
	}
}

// paramMap turns parameters into go-imap's map; text parts get
// charset=us-ascii when they name none (RFC 2045 5.2, as Dovecot).
func paramMap(params []mimeparse.Param, text bool) map[string]string {
	if len(params) == 0 && !text {
		return nil
	}
	m := make(map[string]string, len(params)+1)
	for _, p := range params {
		m[p.Name] = cleanString([]byte(p.Value))
	}
	if _, ok := m["charset"]; text && !ok {
		m["charset"] = "us-ascii"
	}
	return m
}

// cleanString is a field value on one line without NUL: IMAP strings
// cannot hold CR, LF or NUL.
func cleanString(v []byte) string {
	s := mimeparse.Unfold(v)
	if strings.ContainsAny(s, "\r\n\x00") {
		s = strings.NewReplacer("\r", "", "\n", "", "\x00", "\uFFFD").Replace(s)
	}
	return strings.TrimSpace(s)
}
