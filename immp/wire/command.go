package wire

import (
	"strings"
)

// Command names (draft 6, profile; STARTTLS from RFC 9051 6.2.1).
const (
	CAPABILITY             = "CAPABILITY"
	NOOP                   = "NOOP"
	LOGOUT                 = "LOGOUT"
	STARTTLS               = "STARTTLS"
	AUTHENTICATE           = "AUTHENTICATE"
	LOGIN                  = "LOGIN"
	CREATE                 = "CREATE"
	DELETE                 = "DELETE"
	RENAME                 = "RENAME"
	REPLACE                = "REPLACE"
	MOVE                   = "MOVE"
	LIST                   = "LIST"
	SEARCHSPAMENTRY        = "SEARCHSPAMENTRY"
	STORESPAMENTRY         = "STORESPAMENTRY"
	DELETESPAMENTRY        = "DELETESPAMENTRY"
	SEARCHSPAMGUARDAGENT   = "SEARCHSPAMGUARDAGENT"
	STORESPAMGUARDAGENT    = "STORESPAMGUARDAGENT"
	DELETESPAMGUARDAGENT   = "DELETESPAMGUARDAGENT"
	VERIFYINSPAMGUARDAGENT = "VERIFYINSPAMGUARDAGENT"
	VERIFYSUBINBOX         = "VERIFYSUBINBOX"
)

// shape is the argument grammar of one command.
type shape uint8

const (
	shapeNone   shape = iota // no arguments
	shapeOne                 // astring
	shapeTwo                 // astring SP astring
	shapeOpt                 // [astring]
	shapeAuth                // atom [SP astring]   (mechanism, initial response)
	shapeMove                // astring SP "(" astring [","] astring ")"
	shapeSearch              // astring *(SP key SP astring)
)

var shapes = map[string]shape{
	CAPABILITY: shapeNone, NOOP: shapeNone, LOGOUT: shapeNone, STARTTLS: shapeNone,
	AUTHENTICATE: shapeAuth, LOGIN: shapeTwo,
	CREATE: shapeOne, DELETE: shapeOne, RENAME: shapeTwo, REPLACE: shapeTwo,
	MOVE: shapeMove, LIST: shapeTwo,
	SEARCHSPAMENTRY: shapeSearch, STORESPAMENTRY: shapeTwo, DELETESPAMENTRY: shapeTwo,
	SEARCHSPAMGUARDAGENT: shapeOpt, STORESPAMGUARDAGENT: shapeOne, DELETESPAMGUARDAGENT: shapeOne,
	VERIFYINSPAMGUARDAGENT: shapeTwo, VERIFYSUBINBOX: shapeTwo,
}

// IsCommand reports whether name (any case) is an IMMP command.
func IsCommand(name string) bool {
	_, ok := shapes[strings.ToUpper(name)]
	return ok
}

// Command is one parsed client command. Its arguments follow its name's
// grammar, checked by ParseCommand:
//
//	CAPABILITY NOOP LOGOUT STARTTLS     Args empty
//	LOGIN                               Args [user, password]
//	AUTHENTICATE                        Args [MECHANISM] or [MECHANISM, initial-response]
//	CREATE DELETE                       Args [name]
//	RENAME REPLACE                      Args [old, new]
//	MOVE                                Args [leaf, from, to]
//	LIST                                Args [reference, pattern]
//	SEARCHSPAMENTRY                     Args [agent], Criteria
//	STORESPAMENTRY DELETESPAMENTRY      Args [agent, entry]
//	SEARCHSPAMGUARDAGENT                Args [] or [pattern]
//	STORESPAMGUARDAGENT DELETESPAMGUARDAGENT  Args [agent]
//	VERIFYINSPAMGUARDAGENT              Args [check-address, in-address]
//	VERIFYSUBINBOX                      Args [subinbox, mail-address]
type Command struct {
	Tag      string // "" when Untagged
	Untagged bool   // an untagged VERIFY command (draft 6.5)
	Name     string // upper case, one of the constants above
	Args     []string
	Criteria []Criterion // SEARCHSPAMENTRY only
}

// Criterion is one SEARCHSPAMENTRY criterion (draft 6.4.1, profile 7).
type Criterion struct {
	Key     string // "EMAIL" (the keyword MAIL is read as EMAIL)
	Pattern string
}

// SyntaxError is a command that cannot be parsed. Msg is safe to send to
// the client; Tag is the command's tag if one could be read (else answer
// with an untagged BAD), Name its command name if known.
type SyntaxError struct {
	Tag      string
	Untagged bool
	Name     string
	Msg      string
}

func (e *SyntaxError) Error() string { return e.Msg }

// ParseCommand parses one command as returned by Reader.ReadCommand: its
// lines, literals inline after their "{n}" CRLF, and an optional final line
// end. It is pure and never panics; any error is a *SyntaxError.
func ParseCommand(b []byte) (*Command, error) {
	s := &scanner{b: b}
	first := s.atom()
	if first == "" {
		return nil, &SyntaxError{Msg: "Missing tag"}
	}
	upFirst := strings.ToUpper(first)
	if upFirst == VERIFYINSPAMGUARDAGENT || upFirst == VERIFYSUBINBOX {
		// draft 6.5: the VERIFY commands may come without a tag.
		s2 := *s
		cmd, err := parseArgs(&s2, upFirst)
		if err == nil {
			cmd.Untagged = true
			return cmd, nil
		}
		if !nextIsCommand(*s) {
			err.Untagged = true
			return nil, err
		}
	}
	if !validTag(first) {
		return nil, &SyntaxError{Msg: "Invalid tag"}
	}
	if !s.spaces() || s.atEnd() {
		return nil, &SyntaxError{Tag: first, Msg: "Missing command"}
	}
	name := strings.ToUpper(s.atom())
	if _, ok := shapes[name]; !ok {
		return nil, &SyntaxError{Tag: first, Msg: "Unknown command"}
	}
	cmd, err := parseArgs(s, name)
	if err != nil {
		err.Tag = first
		return nil, err
	}
	cmd.Tag = first
	return cmd, nil
}

// nextIsCommand reports whether the word after the current position names
// a command (so the first word was a tag).
func nextIsCommand(s scanner) bool {
	if !s.spaces() {
		return false
	}
	return IsCommand(s.atom())
}

func validTag(t string) bool {
	if t == "" {
		return false
	}
	for i := 0; i < len(t); i++ {
		if !isTagChar(t[i]) {
			return false
		}
	}
	return true
}

// parseArgs reads the arguments of command name and checks their shape.
func parseArgs(s *scanner, name string) (*Command, *SyntaxError) {
	bad := func(msg string) *SyntaxError { return &SyntaxError{Name: name, Msg: msg} }
	if !s.eof() && s.peek() != ' ' && !s.atEnd() {
		return nil, bad("Invalid command name")
	}
	vals, err := s.values()
	if err != nil {
		return nil, bad(err.Error())
	}
	cmd := &Command{Name: name}
	strs := func(n int) bool {
		if len(vals) != n {
			return false
		}
		for _, v := range vals {
			if !v.IsString() {
				return false
			}
			cmd.Args = append(cmd.Args, v.Str)
		}
		return true
	}
	ok := true
	switch shapes[name] {
	case shapeNone:
		ok = strs(0)
	case shapeOne:
		ok = strs(1)
	case shapeTwo:
		ok = strs(2)
	case shapeOpt:
		ok = len(vals) <= 1 && strs(len(vals))
	case shapeAuth:
		ok = (len(vals) == 1 || len(vals) == 2) && vals[0].Kind == KindAtom && strs(len(vals))
		if ok {
			cmd.Args[0] = strings.ToUpper(cmd.Args[0])
		}
	case shapeMove:
		ok = len(vals) == 2 && vals[0].IsString() && vals[1].Kind == KindList &&
			len(vals[1].List) == 2 && vals[1].List[0].IsString() && vals[1].List[1].IsString()
		if ok {
			cmd.Args = []string{vals[0].Str, vals[1].List[0].Str, vals[1].List[1].Str}
		}
	case shapeSearch:
		ok = len(vals)%2 == 1 && vals[0].IsString()
		if ok {
			cmd.Args = []string{vals[0].Str}
			for i := 1; ok && i < len(vals); i += 2 {
				k, p := vals[i], vals[i+1]
				key := strings.ToUpper(k.Str)
				if k.Kind != KindAtom || (key != "EMAIL" && key != "MAIL") || !p.IsString() {
					return nil, bad("Unknown search criterion")
				}
				cmd.Criteria = append(cmd.Criteria, Criterion{Key: "EMAIL", Pattern: p.Str})
			}
		}
	}
	if !ok {
		return nil, bad("Invalid arguments")
	}
	return cmd, nil
}

// peekTag reads the tag at the start of a command's first line without
// parsing the rest (for commands refused by size). A leading VERIFY
// command name is taken as an untagged command.
func peekTag(b []byte) (tag string, untagged bool) {
	s := &scanner{b: b}
	first := s.atom()
	switch strings.ToUpper(first) {
	case VERIFYINSPAMGUARDAGENT, VERIFYSUBINBOX:
		if !nextIsCommand(*s) {
			return "", true
		}
	}
	if validTag(first) && (s.eof() || s.peek() == ' ') {
		return first, false
	}
	return "", false
}
