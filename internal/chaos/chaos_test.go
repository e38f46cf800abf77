package chaos

import (
	"errors"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
)

func TestMatch(t *testing.T) {
	for _, c := range []struct {
		pattern, subject string
		want             bool
	}{
		{"", "anything@x.test", true},
		{"*", "", true},
		{"*@flaky.test", "bob@flaky.test", true},
		{"*@flaky.test", "<Bob@FLAKY.test>", true},
		{"*@flaky.test", "bob@flaky.test.evil", false},
		{"*@flaky.test", "bob@notflaky.test", false},
		{"bob@*", "bob@a.test", true},
		{"bob@*", "alice@a.test", false},
		{"b?b@a.test", "bub@a.test", true},
		{"b?b@a.test", "bb@a.test", false},
		{"*a*a*a*a*b", strings.Repeat("a", 300), false},
		{"*a*", "xyzaq", true},
		{"127.0.0.*", "127.0.0.1", true},
		{"exact@a.test", "exact@a.test", true},
		{"exact@a.test", "exact@a.tes", false},
		{"a**b", "ab", true},
		{"*", "a*b", true},
		{"?", "", false},
	} {
		if got := Match(c.pattern, c.subject); got != c.want {
			t.Errorf("Match(%q, %q) = %v, want %v", c.pattern, c.subject, got, c.want)
		}
	}
}

func TestValidate(t *testing.T) {
	for _, c := range []struct {
		r     Rule
		field string // "" valid
	}{
		{Rule{Stage: Rcpt, Code: 451}, ""},
		{Rule{Stage: Data, Code: 552, Enhanced: "5.2.2", Text: "full", Times: 2}, ""},
		{Rule{Stage: Connect, Code: 421, Probability: 0.5}, ""},
		{Rule{Stage: "helo", Code: 451}, "stage"},
		{Rule{Stage: Mail, Code: 250}, "code"},
		{Rule{Stage: Mail, Code: 600}, "code"},
		{Rule{Stage: Mail, Code: 451, Enhanced: "5.1.1"}, "enhanced"},
		{Rule{Stage: Mail, Code: 451, Enhanced: "4.1"}, "enhanced"},
		{Rule{Stage: Mail, Code: 451, Text: "a\r\n250 ok"}, "text"},
		{Rule{Stage: Mail, Code: 451, Match: strings.Repeat("a", MaxPattern+1)}, "match"},
		{Rule{Stage: Mail, Code: 451, Times: -1}, "times"},
		{Rule{Stage: Mail, Code: 451, Probability: 1.5}, "probability"},
		{Rule{Stage: Mail, Code: 451, Probability: 0.5, Times: 2}, "not both"},
	} {
		err := c.r.Validate()
		switch {
		case c.field == "" && err != nil:
			t.Errorf("%+v: %v", c.r, err)
		case c.field != "" && (err == nil || !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), c.field)):
			t.Errorf("%+v: error %v, want one naming %q", c.r, err, c.field)
		}
	}
}

func TestCheck(t *testing.T) {
	e := New(nil)
	if _, ok := e.Check(Rcpt, "a@flaky.test"); ok {
		t.Fatal("no rules fired")
	}
	e.Add(Rule{Stage: Rcpt, Code: 451, Match: "*@flaky.test", Times: 2})
	e.Add(Rule{Stage: Rcpt, Code: 550, Enhanced: "5.1.1", Text: "no", Match: "*@gone.test"})
	for i, c := range []struct {
		stage Stage
		subj  []string
		code  int
	}{
		{Mail, []string{"a@flaky.test"}, 0},
		{Rcpt, []string{"a@other.test"}, 0},
		{Rcpt, []string{"a@flaky.test"}, 451},
		{Rcpt, []string{"b@other.test", "s@flaky.test"}, 451},
		{Rcpt, []string{"a@flaky.test"}, 0}, // spent
		{Rcpt, []string{"x@gone.test"}, 550},
		{Rcpt, []string{"x@gone.test"}, 550},
	} {
		rep, ok := e.Check(c.stage, c.subj...)
		if ok != (c.code != 0) || rep.Code != c.code {
			t.Errorf("%d: Check(%s, %v) = %+v %v, want %d", i, c.stage, c.subj, rep, ok, c.code)
		}
		if c.code == 451 && (rep.Enhanced != [3]int{4, 0, 0} || !strings.Contains(rep.Text, "chaos rule 1")) {
			t.Errorf("default reply %+v", rep)
		}
		if c.code == 550 && (rep.Enhanced != [3]int{5, 1, 1} || rep.Text != "no") {
			t.Errorf("reply %+v", rep)
		}
	}
	rs := e.Rules()
	if len(rs) != 2 || rs[0].Left != 0 || rs[0].Fired != 2 || rs[1].Left != -1 || rs[1].Fired != 2 {
		t.Fatalf("rules %+v", rs)
	}
	if !e.Remove(rs[1].ID) || e.Remove(99) {
		t.Fatal("Remove")
	}
	e.Reset()
	if len(e.Rules()) != 0 {
		t.Fatal("Reset left rules")
	}
	var nilEngine *Engine
	if _, ok := nilEngine.Check(Connect, "1.2.3.4"); ok {
		t.Fatal("nil engine fired")
	}
}

// TestTimesExact: a times rule fires on exactly N attempts under
// concurrency.
func TestTimesExact(t *testing.T) {
	e := New(nil)
	e.Add(Rule{Stage: Mail, Code: 451, Times: 37})
	var wg sync.WaitGroup
	var mu sync.Mutex
	fired := 0
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 100 {
				if _, ok := e.Check(Mail, "s@a.test"); ok {
					mu.Lock()
					fired++
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	if fired != 37 {
		t.Fatalf("fired %d times, want 37", fired)
	}
}

func TestProbability(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	e := New(r.Float64)
	e.Add(Rule{Stage: Data, Code: 452, Probability: 0.25})
	fired := 0
	for range 4000 {
		if _, ok := e.Check(Data, "a@b.test"); ok {
			fired++
		}
	}
	if fired < 850 || fired > 1150 {
		t.Fatalf("p=0.25 fired %d of 4000", fired)
	}
}

func TestMaxRules(t *testing.T) {
	e := New(nil)
	for range MaxRules {
		if _, err := e.Add(Rule{Stage: Mail, Code: 451}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.Add(Rule{Stage: Mail, Code: 451}); !errors.Is(err, ErrTooMany) {
		t.Fatalf("rule %d: %v", MaxRules+1, err)
	}
}

func FuzzMatch(f *testing.F) {
	f.Add("*@flaky.test", "bob@flaky.test")
	f.Add("a*?b", "axxb")
	f.Fuzz(func(t *testing.T, p, s string) {
		if len(p) > MaxPattern || len(s) > 1000 {
			return
		}
		Match(p, s)
		if !Match("*", s) || !Match("", s) {
			t.Fatal("* must match everything")
		}
		if !strings.ContainsAny(s, "*?<>") && !Match(s, s) {
			t.Fatalf("%q does not match itself", s)
		}
	})
}
