package wire

import (
	"strings"
)

// Response is one parsed server response line (draft 2.3.2).
type Response struct {
	// Tag is "*" for untagged responses, "+" for continuation requests,
	// "" for the completion of an untagged command, else the command tag.
	Tag     string
	Status  string  // OK, NO, BAD, BYE or PREAUTH for status responses, else ""
	Code    string  // response code, upper case, without brackets ("" if none)
	CodeArg string  // the rest of the bracketed code ("IMMP LITERAL+ ...")
	Text    string  // human-readable text (status), or the continuation's text
	Name    string  // data response name, upper case ("LIST", "CAPABILITY")
	Fields  []Value // data response fields
}

func isStatus(s string) bool {
	switch s {
	case OK, NO, BAD, BYE, PREAUTH:
		return true
	}
	return false
}

// ParseResponse parses one response as returned by Reader.ReadCommand
// (literals inline). It is pure; any error is a *SyntaxError.
func ParseResponse(b []byte) (*Response, error) {
	bad := func(msg string) (*Response, error) { return nil, &SyntaxError{Msg: msg} }
	s := &scanner{b: b}
	if s.peek() == '+' {
		s.i++
		s.spaces()
		return &Response{Tag: "+", Text: s.rest()}, nil
	}
	first := s.atom()
	if first == "" {
		return bad("Missing tag")
	}
	r := &Response{Tag: first}
	if up := strings.ToUpper(first); up == OK || up == NO || up == BAD {
		// An untagged command's completion, unless a tag named like a
		// status word is followed by a status.
		save := s.i
		s.spaces()
		if !isStatus(strings.ToUpper(s.atomPeek())) {
			s.i = save
			r.Tag = ""
			return r, s.status(r, up)
		}
		s.i = save
	}
	if !s.spaces() {
		return bad("Missing response")
	}
	word := s.atom()
	up := strings.ToUpper(word)
	if isStatus(up) {
		return r, s.status(r, up)
	}
	if first != "*" {
		return bad("Tagged response without status")
	}
	if word == "" {
		return bad("Missing response name")
	}
	r.Name = up
	vals, err := s.values()
	if err != nil {
		return bad(err.Error())
	}
	r.Fields = vals
	return r, nil
}

func (s *scanner) atomPeek() string {
	j := s.i
	a := s.atom()
	s.i = j
	return a
}

// rest returns the remaining text without a final line end.
func (s *scanner) rest() string {
	t := string(s.b[s.i:])
	t = strings.TrimSuffix(t, "\n")
	t = strings.TrimSuffix(t, "\r")
	s.i = len(s.b)
	return t
}

// status reads "[CODE args] text" after a status word.
func (s *scanner) status(r *Response, st string) error {
	r.Status = st
	s.spaces()
	if s.peek() == '[' {
		end := strings.IndexByte(string(s.b[s.i:]), ']')
		if end < 0 {
			return &SyntaxError{Msg: "Unterminated response code"}
		}
		code := string(s.b[s.i+1 : s.i+end])
		s.i += end + 1
		name, arg, _ := strings.Cut(code, " ")
		r.Code, r.CodeArg = strings.ToUpper(name), arg
		s.spaces()
	}
	r.Text = s.rest()
	return nil
}

// Strings returns the data fields as strings, false if one is a list.
func (r *Response) Strings() ([]string, bool) {
	out := make([]string, 0, len(r.Fields))
	for _, f := range r.Fields {
		if !f.IsString() {
			return nil, false
		}
		out = append(out, f.Str)
	}
	return out, true
}
