package httpapi_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/textproto"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/immp-mail/immp/immp/client"
	"github.com/immp-mail/immp/immptest"
)

func TestWait(t *testing.T) {
	t.Parallel()
	srv := immptest.Start(t)
	// No match: 408 at the timeout, not before.
	start := time.Now()
	mustCall(t, srv, "GET", "/api/v1/messages/wait?to=nobody@x.test&timeout=300ms", "", 408, nil)
	if d := time.Since(start); d < 300*time.Millisecond || d > 3*time.Second {
		t.Fatalf("408 after %v", d)
	}
	for _, bad := range []string{"timeout=-1s", "timeout=1h", "timeout=soon", "since=x"} {
		mustCall(t, srv, "GET", "/api/v1/messages/wait?"+bad, "", 400, nil)
	}
	// Already there: at once.
	srv.Send(t, "a@shop.test", []string{"h@example.com"}, simple("a@shop.test", "h@example.com", "first", "x"))
	var m immptest.Message
	start = time.Now()
	mustCall(t, srv, "GET", "/api/v1/messages/wait?to=h@example.com&subject=FIRST&timeout=5s", "", 200, &m)
	if m.Subject != "first" || time.Since(start) > time.Second {
		t.Fatalf("existing: %+v after %v", m, time.Since(start))
	}
	// Not yet there: answered when it comes, for an account that does
	// not exist yet, and only for the matching message.
	got := make(chan immptest.Message, 1)
	go func() {
		var m immptest.Message
		call(t, srv, "GET", "/api/v1/messages/wait?to=late@example.com&from=b@shop&subject=wanted&timeout=10s", "", &m)
		got <- m
	}()
	time.Sleep(100 * time.Millisecond)
	srv.Send(t, "b@shop.test", []string{"late@example.com"}, simple("b@shop.test", "late@example.com", "other", "x"))
	srv.Send(t, "c@shop.test", []string{"late@example.com"}, simple("c@shop.test", "late@example.com", "wanted", "x"))
	srv.Send(t, "b@shop.test", []string{"late@example.com"}, simple("b@shop.test", "late@example.com", "wanted", "x"))
	select {
	case m := <-got:
		if m.Subject != "wanted" || m.From != "b@shop.test" || m.Account != "late@example.com" {
			t.Fatalf("waited: %+v", m)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("wait did not answer")
	}
}

// TestWaitRace: waits that start while messages are being stored all
// get theirs (subscribed before looking: nothing falls between).
func TestWaitRace(t *testing.T) {
	t.Parallel()
	srv := immptest.Start(t)
	const n = 30
	var wg sync.WaitGroup
	errs := make(chan error, 2*n)
	for i := range n {
		wg.Add(2)
		subj := fmt.Sprintf("race-%d-end", i)
		go func() {
			defer wg.Done()
			var m immptest.Message
			st, body := call(t, srv, "GET", "/api/v1/messages/wait?subject="+subj+"&timeout=5s", "", &m)
			if st != 200 || m.Subject != subj {
				errs <- fmt.Errorf("%s: %d %s", subj, st, body)
			}
		}()
		go func() {
			defer wg.Done()
			// Land while the wait looks at what is stored, or just after.
			time.Sleep(time.Duration(i%10) * 5 * time.Millisecond)
			if err := smtpTxn(srv.SMTP, "a@shop.test", []string{"race@example.com"}, simple("a@shop.test", "race@example.com", subj, "x")); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestEvents(t *testing.T) {
	t.Parallel()
	srv := immptest.Start(t)
	all := openEvents(t, srv, "")
	onlyBob := openEvents(t, srv, "?to=bob@")
	srv.Send(t, "a@shop.test", []string{"ann@example.com"}, simple("a@shop.test", "ann@example.com", "to ann", "x"))
	srv.Send(t, "a@shop.test", []string{"bob@example.com"}, simple("a@shop.test", "bob@example.com", "to bob", "x"))
	ids := map[string]string{}
	for _, want := range []string{"to ann", "to bob"} {
		ev, err := all.next()
		if err != nil {
			t.Fatal(err)
		}
		var m immptest.Message
		if err := json.Unmarshal([]byte(ev.data), &m); err != nil || ev.event != "message" || m.Subject != want || ev.id != m.ID {
			t.Fatalf("event %+v (%v), want %q", ev, err, want)
		}
		ids[want] = m.ID
	}
	ev, err := onlyBob.next()
	if err != nil || !strings.Contains(ev.data, `"subject":"to bob"`) {
		t.Fatalf("filtered stream: %+v %v", ev, err)
	}

	// Flag changes and deletions, made through the API (any protocol
	// would do), reach the stream with the message's id.
	for _, req := range []struct{ method, path, body string }{
		{"PATCH", "/api/v1/messages/" + ids["to ann"], `{"seen": true}`},
		{"DELETE", "/api/v1/messages/" + ids["to bob"], ""},
	} {
		r, _ := http.NewRequest(req.method, srv.URL+req.path, strings.NewReader(req.body))
		if req.body != "" {
			r.Header.Set("Content-Type", "application/json")
		}
		resp, err := http.DefaultClient.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode/100 != 2 {
			t.Fatalf("%s %s: %d", req.method, req.path, resp.StatusCode)
		}
	}
	ev, err = all.next()
	if err != nil || ev.event != "flags" || ev.id != ids["to ann"] || !strings.Contains(ev.data, `"flags":["\\Seen"]`) {
		t.Fatalf("event %+v (%v), want the flags of %s", ev, err, ids["to ann"])
	}
	for { // a deletion may first set \Deleted (a flags event), then expunge
		ev, err = all.next()
		if err != nil || ev.id != ids["to bob"] || ev.event != "flags" && ev.event != "deleted" {
			t.Fatalf("event %+v (%v), want the deletion of %s", ev, err, ids["to bob"])
		}
		if ev.event == "deleted" {
			if !strings.Contains(ev.data, `"account":"bob@example.com","folder":"INBOX"`) {
				t.Fatalf("deleted event %+v", ev)
			}
			break
		}
	}
}

// TestShutdownEndsStreams: closing the server ends waits and event
// streams at once, rather than after the grace period.
func TestShutdownEndsStreams(t *testing.T) {
	t.Parallel()
	srv, err := immptest.New(t.Context(), immptest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ev := openEvents(t, srv, "")
	waited := make(chan int, 1)
	go func() {
		resp, err := http.Get(srv.URL + "/api/v1/messages/wait?to=never@x.test&timeout=60s")
		if err != nil {
			waited <- 0
			return
		}
		resp.Body.Close()
		waited <- resp.StatusCode
	}()
	time.Sleep(100 * time.Millisecond)
	start := time.Now()
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 1500*time.Millisecond {
		t.Fatalf("Close took %v with open streams", d)
	}
	if _, err := ev.next(); err == nil {
		t.Fatal("event stream still open")
	}
	if st := <-waited; st != http.StatusServiceUnavailable && st != 0 {
		t.Fatalf("wait answered %d at shutdown", st)
	}
}

func TestChaos(t *testing.T) {
	t.Parallel()
	srv := immptest.Start(t)
	mustCall(t, srv, "POST", "/api/v1/chaos", `{"stage": "rcpt", "code": 451, "text": "try later", "match": "*@flaky.test", "times": 2}`, 201, nil)
	send := func(to string) error {
		return smtpTxn(srv.SMTP, "a@shop.test", []string{to}, simple("a@shop.test", to, "c", "x"))
	}
	code := func(err error) int {
		if e, ok := err.(*textproto.Error); ok {
			return e.Code
		}
		if err != nil {
			t.Fatalf("not an SMTP reply: %v", err)
		}
		return 250
	}
	for i, want := range []int{451, 250, 451, 250, 250} {
		to := "x@flaky.test"
		if i == 1 {
			to = "x@solid.test"
		}
		err := send(to)
		if got := code(err); got != want {
			t.Fatalf("attempt %d to %s: %d (%v), want %d", i, to, got, err, want)
		}
		if want == 451 && !strings.Contains(err.Error(), "try later") {
			t.Fatalf("reply text: %v", err)
		}
	}
	var rules struct {
		Rules []struct {
			ID    int `json:"id"`
			Fired int `json:"fired"`
			Left  int `json:"left"`
		} `json:"rules"`
	}
	mustCall(t, srv, "GET", "/api/v1/chaos", "", 200, &rules)
	if len(rules.Rules) != 1 || rules.Rules[0].Fired != 2 || rules.Rules[0].Left != 0 {
		t.Fatalf("rules %+v", rules)
	}
	// Every stage; probability 1; reset.
	for _, c := range []struct {
		rule string
		code int
	}{
		{`{"stage": "connect", "code": 421, "match": "127.0.0.1"}`, 421},
		{`{"stage": "mail", "code": 550, "enhanced": "5.7.1", "match": "a@shop.test"}`, 550},
		{`{"stage": "data", "code": 552, "match": "*@full.test", "probability": 1}`, 552},
	} {
		mustCall(t, srv, "DELETE", "/api/v1/chaos", "", 204, nil)
		mustCall(t, srv, "POST", "/api/v1/chaos", c.rule, 201, nil)
		if got := code(send("x@full.test")); got != c.code {
			t.Fatalf("%s: %d, want %d", c.rule, got, c.code)
		}
	}
	mustCall(t, srv, "DELETE", "/api/v1/chaos", "", 204, nil)
	if got := code(send("x@full.test")); got != 250 {
		t.Fatalf("after reset: %d", got)
	}
	mustCall(t, srv, "GET", "/api/v1/chaos", "", 200, &rules)
	if len(rules.Rules) != 0 {
		t.Fatalf("after reset: %+v", rules)
	}
	var added struct {
		ID int `json:"id"`
	}
	mustCall(t, srv, "POST", "/api/v1/chaos", `{"stage": "mail", "code": 451}`, 201, &added)
	mustCall(t, srv, "DELETE", fmt.Sprintf("/api/v1/chaos/%d", added.ID), "", 204, nil)
	mustCall(t, srv, "DELETE", fmt.Sprintf("/api/v1/chaos/%d", added.ID), "", 404, nil)
	for _, bad := range []string{`{"stage": "helo", "code": 451}`, `{"stage": "rcpt", "code": 250}`,
		`{"stage": "rcpt", "code": 451, "times": 1, "probability": 0.5}`, `{"stage": "rcpt", "code": 451, "bogus": 1}`, `[`} {
		mustCall(t, srv, "POST", "/api/v1/chaos", bad, 400, nil)
	}
}

// TestGuardAndSubinboxUnderCapture: a spam guard agent's 550 and a
// subinbox address work for a captured account at another domain, as
// for a local one, beside chaos rules.
func TestGuardAndSubinboxUnderCapture(t *testing.T) {
	t.Parallel()
	srv := immptest.Start(t)
	srv.CreateAccount(t, "gina@example.com", "gina-password")
	ctx := t.Context()
	c, err := client.Dial(ctx, srv.IMMP, client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Login(ctx, "gina@example.com", "gina-password"); err != nil {
		t.Fatal(err)
	}
	agents, err := c.SearchSpamGuardAgent(ctx, "*")
	if err != nil || len(agents) == 0 {
		t.Fatalf("agents %v, %v", agents, err)
	}
	if err := c.StoreSpamEntry(ctx, agents[0], "spammer@bad.test"); err != nil {
		t.Fatal(err)
	}
	if err := c.Create(ctx, "work"); err != nil {
		t.Fatal(err)
	}
	mustCall(t, srv, "POST", "/api/v1/chaos", `{"stage": "rcpt", "code": 451, "match": "*@flaky.test"}`, 201, nil)

	err = smtpTxn(srv.SMTP, "spammer@bad.test", []string{"gina@example.com"}, simple("spammer@bad.test", "gina@example.com", "spam", "x"))
	if e, ok := err.(*textproto.Error); !ok || e.Code != 550 {
		t.Fatalf("guarded sender: %v, want 550", err)
	}
	srv.Send(t, "friend@good.test", []string{"work/gina@example.com"}, simple("friend@good.test", "work/gina@example.com", "for work", "x"))
	m := srv.WaitFor(t, immptest.Query{Subject: "for work"})
	if m.Account != "gina@example.com" || m.Folder != "INBOX/work" {
		t.Fatalf("subinbox delivery: %+v", m)
	}
}
