package chaos

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
)

// Stage is where in an SMTP session a rule answers.
type Stage string

const (
	Connect Stage = "connect"
	Mail    Stage = "mail"
	Rcpt    Stage = "rcpt"
	Data    Stage = "data"
)

// MaxRules bounds the rules of one engine; MaxText a reply's text and
// MaxPattern a pattern.
const (
	MaxRules   = 1000
	MaxText    = 400
	MaxPattern = 320
)

// ErrInvalid is wrapped by every validation error; ErrTooMany when the
// engine holds MaxRules rules.
var (
	ErrInvalid = errors.New("invalid chaos rule")
	ErrTooMany = errors.New("too many chaos rules")
)

// Rule is one fault to inject. The JSON form is the API's.
type Rule struct {
	Stage Stage `json:"stage" toml:"stage"`
	Code  int   `json:"code" toml:"code"`
	// Enhanced is the RFC 3463 status code ("4.7.1"); "" gives "X.0.0"
	// of the code's class.
	Enhanced string `json:"enhanced,omitempty" toml:"enhanced"`
	Text     string `json:"text,omitempty" toml:"text"`
	Match    string `json:"match,omitempty" toml:"match"`
	// Times: fire on the next Times matching attempts, then stop.
	Times int `json:"times,omitempty" toml:"times"`
	// Probability: fire on each matching attempt with this chance
	// (0 < p <= 1). Neither Times nor Probability: fire every time.
	Probability float64 `json:"probability,omitempty" toml:"probability"`
}

// Validate checks a rule; errors wrap ErrInvalid and name the field.
func (r Rule) Validate() error {
	switch r.Stage {
	case Connect, Mail, Rcpt, Data:
	default:
		return fmt.Errorf("%w: stage %q: want connect, mail, rcpt or data", ErrInvalid, r.Stage)
	}
	if r.Code < 400 || r.Code > 599 {
		return fmt.Errorf("%w: code %d: want a 4xx or 5xx reply (RFC 5321 4.2)", ErrInvalid, r.Code)
	}
	if r.Enhanced != "" {
		e, ok := parseEnhanced(r.Enhanced)
		if !ok || e[0] != r.Code/100 {
			return fmt.Errorf("%w: enhanced %q: want \"%d.X.Y\" (RFC 3463)", ErrInvalid, r.Enhanced, r.Code/100)
		}
	}
	if len(r.Text) > MaxText || strings.ContainsAny(r.Text, "\r\n") {
		return fmt.Errorf("%w: text: one line of at most %d octets", ErrInvalid, MaxText)
	}
	if len(r.Match) > MaxPattern {
		return fmt.Errorf("%w: match: at most %d octets", ErrInvalid, MaxPattern)
	}
	if r.Times < 0 {
		return fmt.Errorf("%w: times must not be negative", ErrInvalid)
	}
	if r.Probability < 0 || r.Probability > 1 {
		return fmt.Errorf("%w: probability %v: want 0 < p <= 1", ErrInvalid, r.Probability)
	}
	if r.Times > 0 && r.Probability > 0 {
		return fmt.Errorf("%w: give times or probability, not both", ErrInvalid)
	}
	return nil
}

func parseEnhanced(s string) ([3]int, bool) {
	var e [3]int
	parts := strings.Split(s, ".")
	if len(parts) != 3 {
		return e, false
	}
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 || n > 999 || len(p) > 3 {
			return e, false
		}
		e[i] = n
	}
	return e, e[0] == 4 || e[0] == 5
}

// Reply is what a fired rule answers.
type Reply struct {
	Code     int
	Enhanced [3]int
	Text     string
	Rule     int // the rule's ID
}

// Status is a rule as listed: the rule, its ID, how many attempts it
// fired on, and how many it has left (-1: unlimited).
type Status struct {
	ID int `json:"id"`
	Rule
	Fired int `json:"fired"`
	Left  int `json:"left"`
}

// Engine holds the rules of one server; safe for concurrent use. The
// zero value is not usable: New.
type Engine struct {
	mu     sync.Mutex
	rules  []*Status
	nextID int
	rand   func() float64
}

// New makes an engine. random gives numbers in [0, 1) for probabilities;
// nil uses math/rand/v2.
func New(random func() float64) *Engine {
	if random == nil {
		random = rand.Float64
	}
	return &Engine{rand: random, nextID: 1}
}

// Add validates and appends a rule.
func (e *Engine) Add(r Rule) (Status, error) {
	if err := r.Validate(); err != nil {
		return Status{}, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(e.rules) >= MaxRules {
		return Status{}, fmt.Errorf("%w (at most %d; reset them)", ErrTooMany, MaxRules)
	}
	st := &Status{ID: e.nextID, Rule: r, Left: -1}
	if r.Times > 0 {
		st.Left = r.Times
	}
	e.nextID++
	e.rules = append(e.rules, st)
	return *st, nil
}

// Reset removes every rule.
func (e *Engine) Reset() {
	e.mu.Lock()
	e.rules = nil
	e.mu.Unlock()
}

// Remove removes one rule; false if there is none with that ID.
func (e *Engine) Remove(id int) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	for i, r := range e.rules {
		if r.ID == id {
			e.rules = append(e.rules[:i], e.rules[i+1:]...)
			return true
		}
	}
	return false
}

// Rules lists the rules in the order they apply.
func (e *Engine) Rules() []Status {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]Status, len(e.rules))
	for i, r := range e.rules {
		out[i] = *r
	}
	return out
}

// Check asks whether an attempt at stage, about subjects (see the package
// documentation for what they are per stage), is to fail, and with what.
// A nil engine never fails anything.
func (e *Engine) Check(stage Stage, subjects ...string) (Reply, bool) {
	if e == nil {
		return Reply{}, false
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, r := range e.rules {
		if r.Stage != stage || r.Left == 0 || !matchAny(r.Match, subjects) {
			continue
		}
		if r.Probability > 0 && e.rand() >= r.Probability {
			continue
		}
		if r.Left > 0 {
			r.Left--
		}
		r.Fired++
		return r.reply(), true
	}
	return Reply{}, false
}

func (r *Status) reply() Reply {
	rep := Reply{Code: r.Code, Text: r.Text, Rule: r.ID}
	if e, ok := parseEnhanced(r.Enhanced); ok {
		rep.Enhanced = e
	} else {
		rep.Enhanced = [3]int{r.Code / 100, 0, 0}
	}
	if rep.Text == "" {
		rep.Text = "Simulated failure (chaos rule " + strconv.Itoa(r.ID) + ")"
	}
	return rep
}

func matchAny(pattern string, subjects []string) bool {
	for _, s := range subjects {
		if Match(pattern, s) {
			return true
		}
	}
	return pattern == "" || pattern == "*"
}

// Match reports whether subject matches the glob pattern, ignoring case
// (ASCII): "*" matches any run, "?" one character. "" matches
// everything. Angle brackets around an address subject are ignored.
// Linear-time greedy matching with one backtrack point, so hostile
// patterns cost O(len(pattern) * len(subject)).
func Match(pattern, subject string) bool {
	if pattern == "" {
		return true
	}
	p := strings.ToLower(pattern)
	s := strings.ToLower(strings.TrimSuffix(strings.TrimPrefix(subject, "<"), ">"))
	pi, si := 0, 0
	star, mark := -1, 0
	for si < len(s) {
		switch {
		case pi < len(p) && p[pi] == '*':
			star, mark = pi, si
			pi++
		case pi < len(p) && (p[pi] == '?' || p[pi] == s[si]):
			pi++
			si++
		case star >= 0:
			pi = star + 1
			mark++
			si = mark
		default:
			return false
		}
	}
	for pi < len(p) && p[pi] == '*' {
		pi++
	}
	return pi == len(p)
}
