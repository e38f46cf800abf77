package wire

import (
	"strings"
	"unicode/utf8"
)

// MaxDepth is how deep parenthesized lists may nest.
const MaxDepth = 8

// Kind is the form of one parsed Value (draft 4).
type Kind uint8

const (
	KindAtom    Kind = iota // atom or number
	KindQuoted              // quoted string
	KindLiteral             // literal {n} / {n+}
	KindNIL                 // the atom NIL, any case
	KindList                // parenthesized list
)

// Value is one data item of a command or response.
type Value struct {
	Kind Kind
	Str  string  // the atom's text or the string's decoded content ("NIL" for NIL)
	List []Value // KindList only
}

// IsString reports whether v can stand for an astring (RFC 9051 9): an
// atom, NIL (read as the text "NIL"), or a quoted or literal string.
func (v Value) IsString() bool { return v.Kind != KindList }

// scanner reads values from one command or response, literals inline.
type scanner struct {
	b     []byte
	i     int
	depth int
}

type syntaxErr string

func (e syntaxErr) Error() string { return string(e) }

func (s *scanner) eof() bool { return s.i >= len(s.b) }

func (s *scanner) peek() byte {
	if s.i < len(s.b) {
		return s.b[s.i]
	}
	return 0
}

// atEnd reports whether only spaces and a final line end remain.
func (s *scanner) atEnd() bool {
	j := s.i
	for j < len(s.b) && s.b[j] == ' ' {
		j++
	}
	rest := s.b[j:]
	return len(rest) == 0 || string(rest) == "\r\n" || string(rest) == "\n"
}

// spaces skips one or more spaces; it reports whether there was one.
func (s *scanner) spaces() bool {
	j := s.i
	for s.i < len(s.b) && s.b[s.i] == ' ' {
		s.i++
	}
	return s.i > j
}

// isAtomChar: ATOM-CHAR of RFC 9051 9, plus list wildcards, "]" and "\",
// which astrings, LIST patterns and flags need. Octets >= 0x80 are never
// atom characters; such text must be quoted or sent as a literal.
func isAtomChar(c byte) bool {
	if c <= ' ' || c >= 0x7f {
		return false
	}
	switch c {
	case '(', ')', '{', '"':
		return false
	}
	return true
}

// isTagChar: ASTRING-CHAR except "+" (RFC 9051 9).
func isTagChar(c byte) bool {
	return isAtomChar(c) && c != '+' && c != '*' && c != '%' && c != '\\'
}

// atomChar: inside a list a comma separates elements (profile 6, MOVE's
// "(from, to)"), so it ends an atom there.
func (s *scanner) atomChar(c byte) bool {
	return isAtomChar(c) && !(c == ',' && s.depth > 0)
}

func (s *scanner) atom() string {
	j := s.i
	for s.i < len(s.b) && s.atomChar(s.b[s.i]) {
		s.i++
	}
	return string(s.b[j:s.i])
}

// value reads one value at the current position.
func (s *scanner) value() (Value, error) {
	if s.eof() {
		return Value{}, syntaxErr("Missing argument")
	}
	switch c := s.b[s.i]; {
	case c == '"':
		str, err := s.quoted()
		return Value{Kind: KindQuoted, Str: str}, err
	case c == '{':
		str, err := s.literal()
		return Value{Kind: KindLiteral, Str: str}, err
	case c == '(':
		return s.list()
	case s.atomChar(c):
		a := s.atom()
		if len(a) == 3 && strings.EqualFold(a, "NIL") {
			return Value{Kind: KindNIL, Str: "NIL"}, nil
		}
		return Value{Kind: KindAtom, Str: a}, nil
	default:
		return Value{}, syntaxErr("Invalid character in argument")
	}
}

// quoted reads a quoted string: \" and \\ are the only escapes; CR, LF
// and NUL are not allowed; UTF-8 is (RFC 9051 4.3).
func (s *scanner) quoted() (string, error) {
	s.i++ // opening quote
	var sb []byte
	start := s.i
	simple := true
	for s.i < len(s.b) {
		c := s.b[s.i]
		switch c {
		case '"':
			var out string
			if simple {
				out = string(s.b[start:s.i])
			} else {
				out = string(sb)
			}
			s.i++
			if !utf8.ValidString(out) {
				return "", syntaxErr("Invalid UTF-8 in quoted string")
			}
			return out, nil
		case '\\':
			if s.i+1 >= len(s.b) || (s.b[s.i+1] != '"' && s.b[s.i+1] != '\\') {
				return "", syntaxErr("Invalid escape in quoted string")
			}
			if simple {
				sb = append(sb, s.b[start:s.i]...)
				simple = false
			}
			sb = append(sb, s.b[s.i+1])
			s.i += 2
			continue
		case '\r', '\n', 0:
			return "", syntaxErr("Invalid character in quoted string")
		}
		if !simple {
			sb = append(sb, c)
		}
		s.i++
	}
	return "", syntaxErr("Unterminated quoted string")
}

// literal reads "{n}" or "{n+}", a line end, and n octets. NUL octets are
// refused (draft 4.3.1: binary strings are not permitted).
func (s *scanner) literal() (string, error) {
	s.i++ // {
	var n int
	digits := 0
	for s.i < len(s.b) && s.b[s.i] >= '0' && s.b[s.i] <= '9' {
		n = n*10 + int(s.b[s.i]-'0')
		digits++
		s.i++
		if n > len(s.b) {
			return "", syntaxErr("Literal longer than the command")
		}
	}
	if digits == 0 {
		return "", syntaxErr("Invalid literal")
	}
	if s.peek() == '+' {
		s.i++
	}
	if s.peek() != '}' {
		return "", syntaxErr("Invalid literal")
	}
	s.i++
	switch {
	case s.i+1 < len(s.b) && s.b[s.i] == '\r' && s.b[s.i+1] == '\n':
		s.i += 2
	case s.i < len(s.b) && s.b[s.i] == '\n':
		s.i++
	default:
		return "", syntaxErr("Literal announcement must end the line")
	}
	if len(s.b)-s.i < n {
		return "", syntaxErr("Literal longer than the command")
	}
	data := s.b[s.i : s.i+n]
	s.i += n
	for _, c := range data {
		if c == 0 {
			return "", syntaxErr("NUL in literal")
		}
	}
	return string(data), nil
}

// list reads "(" [value *(SP value)] ")", tolerating extra spaces and
// a comma between elements.
func (s *scanner) list() (Value, error) {
	s.depth++
	if s.depth > MaxDepth {
		return Value{}, syntaxErr("Lists nested too deeply")
	}
	defer func() { s.depth-- }()
	s.i++ // (
	v := Value{Kind: KindList, List: []Value{}}
	s.spaces()
	sep := true
	for {
		if s.eof() {
			return Value{}, syntaxErr("Unterminated list")
		}
		if s.b[s.i] == ')' {
			s.i++
			return v, nil
		}
		if !sep {
			return Value{}, syntaxErr("Missing space in list")
		}
		e, err := s.value()
		if err != nil {
			return Value{}, err
		}
		v.List = append(v.List, e)
		sep = s.listSep()
	}
}

// listSep skips the separator between list elements: spaces with at most
// one comma among them. It reports whether there was one.
func (s *scanner) listSep() bool {
	sp := s.spaces()
	if s.peek() == ',' {
		s.i++
		s.spaces()
		return true
	}
	return sp
}

// values reads the rest of a line as space-separated values.
func (s *scanner) values() ([]Value, error) {
	var out []Value
	for !s.atEnd() {
		if !s.spaces() {
			return nil, syntaxErr("Missing space before argument")
		}
		if s.atEnd() {
			break
		}
		v, err := s.value()
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}
