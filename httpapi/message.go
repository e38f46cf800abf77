package httpapi

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net/textproto"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/immp-mail/immp/internal/mimeparse"
	"github.com/immp-mail/immp/maildir"
)

// Message is the M of the API: what a list shows of one message.
type Message struct {
	ID       string    `json:"id"`
	Account  string    `json:"account"`
	Folder   string    `json:"folder"`
	UID      uint32    `json:"uid"`
	From     string    `json:"from"`      // address of the first From mailbox
	FromName string    `json:"from_name"` // its display name, decoded
	To       []string  `json:"to"`        // To addresses
	Cc       []string  `json:"cc"`
	Subject  string    `json:"subject"` // decoded (RFC 2047)
	Date     time.Time `json:"date"`    // the Date field; the received time if none
	Received time.Time `json:"received"`
	Size     int64     `json:"size"`
	Flags    []string  `json:"flags"`
	Seen     bool      `json:"seen"`
}

// Detail is GET /api/v1/messages/{id}: M plus the content.
type Detail struct {
	Message
	Headers     map[string][]string `json:"headers"`
	Text        string              `json:"text"`
	HTML        string              `json:"html"`
	Attachments []Attachment        `json:"attachments"`
}

// Attachment is one attachment (or inline part other than the bodies
// shown as text and html), numbered from 0 in the order of the message.
type Attachment struct {
	Index       int    `json:"index"`
	Filename    string `json:"filename"`
	ContentType string `json:"content_type"`
	ContentID   string `json:"content_id,omitempty"`
	Inline      bool   `json:"inline"`
	Size        int    `json:"size"` // decoded octets
	URL         string `json:"url"`
}

// envelope is what the header block tells a list; it never changes for
// a given message, so it is cached by reference.
type envelope struct {
	From, FromName string
	To, Cc         []string
	Subject        string
	Date           time.Time
}

// maxHeaderRead bounds what is read of a message for its list entry.
const maxHeaderRead = 256 << 10

// envCache keeps envelopes by message reference. Bounded: when full it
// starts over (a list of a large folder fills it again in one pass).
type envCache struct {
	mu  sync.Mutex
	m   map[msgRef]*envelope
	max int
}

func (c *envCache) get(ref msgRef) *envelope {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m[ref]
}

func (c *envCache) put(ref msgRef, e *envelope) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= c.max {
		c.m = make(map[msgRef]*envelope)
	}
	c.m[ref] = e
}

// envelopeOf reads (or finds cached) the envelope of one message.
func (a *API) envelopeOf(ctx context.Context, f *maildir.Folder, ref msgRef) (*envelope, error) {
	if e := a.envs.get(ref); e != nil {
		return e, nil
	}
	r, err := f.OpenMessage(ctx, ref.UID)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	h, err := readHeader(r)
	if err != nil {
		return nil, err
	}
	e := parseEnvelope(h)
	a.envs.put(ref, e)
	return e, nil
}

// readHeader reads the header block (up to the blank line, at most
// maxHeaderRead octets).
func readHeader(r io.Reader) ([]byte, error) {
	br := bufio.NewReaderSize(io.LimitReader(r, maxHeaderRead), 8192)
	var h []byte
	mid := false // line is the rest of a line longer than the buffer
	for {
		line, err := br.ReadSlice('\n')
		if !mid && (string(line) == "\r\n" || string(line) == "\n") {
			return h, nil
		}
		h = append(h, line...)
		mid = err == bufio.ErrBufferFull
		if mid {
			continue
		}
		if err == io.EOF {
			return h, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

// parseEnvelope is pure: the list fields of a header block.
func parseEnvelope(h []byte) *envelope {
	e := &envelope{To: []string{}, Cc: []string{}}
	for fl := range mimeparse.Fields(h) {
		switch {
		case fl.NameIs("From") && e.From == "":
			if as := addrs(fl.Value); len(as) > 0 {
				e.From, e.FromName = as[0].addr, as[0].name
			}
		case fl.NameIs("To"):
			for _, a := range addrs(fl.Value) {
				e.To = append(e.To, a.addr)
			}
		case fl.NameIs("Cc"):
			for _, a := range addrs(fl.Value) {
				e.Cc = append(e.Cc, a.addr)
			}
		case fl.NameIs("Subject") && e.Subject == "":
			e.Subject = mimeparse.DecodeHeader(mimeparse.CollapseSpace(mimeparse.Unfold(fl.Value)))
		case fl.NameIs("Date") && e.Date.IsZero():
			if t, err := parseMailDate(mimeparse.Unfold(fl.Value)); err == nil {
				e.Date = t
			}
		}
	}
	return e
}

type addr struct{ addr, name string }

// maxAddrs bounds the addresses kept of one field.
const maxAddrs = 1000

func addrs(v []byte) []addr {
	var out []addr
	for _, a := range mimeparse.ParseAddressList(mimeparse.Unfold(v), maxAddrs) {
		if a.Kind != mimeparse.KindMailbox {
			continue
		}
		out = append(out, addr{addr: a.Mailbox + "@" + a.Domain, name: mimeparse.DecodeHeader(a.Name)})
	}
	return out
}

// parseMailDate reads an RFC 5322 3.3 date (with the obsolete forms
// net/mail accepts).
func parseMailDate(s string) (time.Time, error) {
	return parseRFC5322Date(strings.TrimSpace(s))
}

// summary builds M for one message of a folder.
func (a *API) summary(ctx context.Context, acct maildir.Account, f *maildir.Folder, ref msgRef, m maildir.Message) (Message, error) {
	e, err := a.envelopeOf(ctx, f, ref)
	if err != nil {
		return Message{}, err
	}
	out := Message{
		ID: ref.String(), Account: acct.Address, Folder: ref.Folder, UID: ref.UID,
		From: e.From, FromName: e.FromName, To: e.To, Cc: e.Cc, Subject: e.Subject,
		Date: e.Date, Received: m.InternalDate, Size: m.Size, Flags: m.Flags,
		Seen: slices.Contains(m.Flags, `\Seen`),
	}
	if out.Date.IsZero() {
		out.Date = m.InternalDate
	}
	if out.Flags == nil {
		out.Flags = []string{}
	}
	return out, nil
}

// readAll reads a whole message (bounded by the store's message size
// limit, which SMTP and APPEND enforce).
func readAll(ctx context.Context, f *maildir.Folder, uid uint32) ([]byte, error) {
	r, err := f.OpenMessage(ctx, uid)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return io.ReadAll(r)
}

// content is the parsed content of one message: pure function of its
// octets.
type content struct {
	headers     map[string][]string
	text, html  string
	attachments []*mimeparse.Part
}

func parseContent(msg []byte) content {
	root := mimeparse.Parse(msg, mimeparse.Limits{})
	c := content{headers: map[string][]string{}}
	for fl := range mimeparse.Fields(root.Header(msg)) {
		k := textproto.CanonicalMIMEHeaderKey(string(fl.Name))
		c.headers[k] = append(c.headers[k], mimeparse.DecodeHeader(mimeparse.Unfold(fl.Value)))
	}
	var walk func(p *mimeparse.Part, alt bool)
	walk = func(p *mimeparse.Part, alt bool) {
		switch p.Kind {
		case mimeparse.Multipart:
			for _, ch := range p.Parts {
				walk(ch, p.Subtype == "alternative")
			}
			return
		case mimeparse.Message:
			if p != root {
				c.attachments = append(c.attachments, p) // a forwarded message
				return
			}
		}
		disp, name := disposition(msg, p)
		if disp != "attachment" && name == "" && p.Type == "text" {
			switch {
			case p.Subtype == "html" && c.html == "":
				c.html = string(p.Text(msg))
				return
			case p.Subtype == "plain" && c.text == "":
				c.text = string(p.Text(msg))
				return
			case p.Subtype == "plain" && !alt:
				c.text += "\n" + string(p.Text(msg))
				return
			}
		}
		if p == root && p.Kind == mimeparse.Leaf && p.Type == "text" {
			return
		}
		c.attachments = append(c.attachments, p)
	}
	walk(root, false)
	return c
}

// disposition returns a part's Content-Disposition and file name
// (filename parameter, else the Content-Type name parameter).
func disposition(msg []byte, p *mimeparse.Part) (disp, name string) {
	if p.MIME {
		if v, ok := mimeparse.HeaderValue(p.Header(msg), "Content-Disposition"); ok {
			var params []mimeparse.Param
			disp, params = mimeparse.ParseDisposition(mimeparse.Unfold(v))
			for _, pr := range params {
				if pr.Name == "filename" {
					name = pr.Value
				}
			}
		}
	}
	if name == "" {
		name = p.Param("name")
	}
	return disp, mimeparse.DecodeHeader(name)
}

func attachmentInfo(msg []byte, p *mimeparse.Part, i int, id string) Attachment {
	disp, name := disposition(msg, p)
	at := Attachment{Index: i, Filename: name, ContentType: p.Type + "/" + p.Subtype, Inline: disp == "inline",
		URL: "/api/v1/messages/" + id + "/attachments/" + itoa(i)}
	if p.MIME {
		if v, ok := mimeparse.HeaderValue(p.Header(msg), "Content-ID"); ok {
			at.ContentID = strings.Trim(strings.TrimSpace(mimeparse.Unfold(v)), "<>")
		}
	}
	at.Size = len(decoded(msg, p))
	return at
}

// decoded is a part's body with its transfer encoding undone (not
// converted to UTF-8: an attachment is served as it was sent).
func decoded(msg []byte, p *mimeparse.Part) []byte {
	body := p.Body(msg)
	if d, err := mimeparse.Decode(p.Encoding(msg), body); err == nil {
		return d
	}
	return body
}

// textOf is everything searched as the body: text and html, lower case.
func textOf(msg []byte) string {
	c := parseContent(msg)
	return strings.ToLower(c.text + "\n" + stripTags(c.html))
}

// stripTags drops markup so that a search does not match tag names.
func stripTags(h string) string {
	var b bytes.Buffer
	in := false
	for i := 0; i < len(h); i++ {
		switch c := h[i]; {
		case c == '<':
			in = true
		case c == '>':
			in = false
			b.WriteByte(' ')
		case !in:
			b.WriteByte(c)
		}
	}
	return b.String()
}
