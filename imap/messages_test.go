package imap

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

func TestFetchStoreExpungeAppend(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	acct := e.account("alice@example.org")
	for i := range 3 {
		e.deliver(acct, "INBOX", fmt.Sprintf("msg %d", i))
	}
	c := e.client("alice@example.org", nil)
	sel, err := c.Select("INBOX", nil).Wait()
	if err != nil {
		t.Fatal(err)
	}
	if sel.NumMessages != 3 || sel.UIDValidity == 0 || sel.UIDNext < 4 {
		t.Fatalf("select = %+v", sel)
	}
	msgs := fetchAll(t, c, &imap.FetchOptions{UID: true, Flags: true, Envelope: true,
		BodyStructure: &imap.FetchItemBodyStructure{Extended: true}, RFC822Size: true, InternalDate: true})
	if len(msgs) != 3 {
		t.Fatalf("fetched %d messages", len(msgs))
	}
	m := msgs[1]
	if m.Envelope == nil || m.Envelope.Subject != "msg 1" || len(m.Envelope.From) != 1 || m.Envelope.From[0].Host != "example.org" {
		t.Errorf("envelope = %+v", m.Envelope)
	}
	if bs, ok := m.BodyStructure.(*imap.BodyStructureSinglePart); !ok || bs.Type != "text" || bs.Subtype != "plain" {
		t.Errorf("bodystructure = %#v", m.BodyStructure)
	}
	if m.RFC822Size != int64(len(testMessage("msg 1"))) {
		t.Errorf("size = %d, want %d", m.RFC822Size, len(testMessage("msg 1")))
	}
	if m.InternalDate.IsZero() {
		t.Error("no internal date")
	}
	// The parse is cached: a second FETCH is served without re-parsing.
	if p := e.srv.cache.get(cacheKey{acct.ID, "INBOX", sel.UIDValidity, uint32(m.UID)}); p == nil || p.envelope.Subject != "msg 1" {
		t.Errorf("envelope not cached: %+v", p)
	}

	// Non-PEEK body fetch sets \Seen and reports it.
	body, err := c.Fetch(imap.SeqSetNum(2), &imap.FetchOptions{BodySection: []*imap.FetchItemBodySection{{}}}).Collect()
	if err != nil {
		t.Fatal(err)
	}
	if len(body) != 1 || !bytes.Equal(body[0].FindBodySection(&imap.FetchItemBodySection{}), testMessage("msg 1")) {
		t.Fatalf("BODY[] = %+v", body)
	}
	if !slices.Contains(body[0].Flags, imap.FlagSeen) {
		t.Errorf("BODY[] did not set \\Seen: %v", body[0].Flags)
	}

	// STORE answers with FETCH (UID FLAGS); .SILENT answers nothing.
	st, err := c.Store(imap.SeqSetNum(1), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{imap.FlagFlagged, "$Work"}}, nil).Collect()
	if err != nil {
		t.Fatal(err)
	}
	if len(st) != 1 || !slices.Contains(st[0].Flags, imap.FlagFlagged) || !slices.Contains(st[0].Flags, "$Work") {
		t.Errorf("STORE answer = %+v", st)
	}
	st, err = c.Store(imap.SeqSetNum(3), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagDeleted}}, nil).Collect()
	if err != nil || len(st) != 0 {
		t.Errorf("STORE.SILENT answer = %+v, %v", st, err)
	}

	// EXPUNGE removes the \Deleted message and says so.
	if seqs, err := c.Expunge().Collect(); err != nil || !slices.Equal(seqs, []uint32{3}) {
		t.Errorf("EXPUNGE = %v, %v", seqs, err)
	}
	if got := e.folderUIDs(acct, "INBOX"); len(got) != 2 {
		t.Errorf("store has %v after expunge", got)
	}

	// APPEND with APPENDUID, into the selected folder: EXISTS follows.
	msg := testMessage("appended")
	ac := c.Append("INBOX", int64(len(msg)), &imap.AppendOptions{Flags: []imap.Flag{imap.FlagSeen}})
	ac.Write(msg)
	ac.Close()
	ad, err := ac.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if ad.UIDValidity != sel.UIDValidity || ad.UID == 0 {
		t.Errorf("APPENDUID = %+v", ad)
	}
	if n := c.Mailbox().NumMessages; n != 3 {
		t.Errorf("client sees %d messages after APPEND, want 3", n)
	}

	// SEARCH: flags, header, body; ESEARCH under UID.
	sd, err := c.UIDSearch(&imap.SearchCriteria{Flag: []imap.Flag{imap.FlagFlagged}}, nil).Wait()
	if err != nil {
		t.Fatal(err)
	}
	if got := sd.AllUIDs(); len(got) != 1 || got[0] != msgs[0].UID {
		t.Errorf("SEARCH FLAGGED = %v", got)
	}
	sd, err = c.Search(&imap.SearchCriteria{Header: []imap.SearchCriteriaHeaderField{{Key: "Subject", Value: "APPENDED"}}}, nil).Wait()
	if err != nil || !slices.Equal(sd.AllSeqNums(), []uint32{3}) {
		t.Errorf("SEARCH SUBJECT = %v, %v", sd, err)
	}
	sd, err = c.Search(&imap.SearchCriteria{Body: []string{"hello, msg 0"}}, nil).Wait()
	if err != nil || !slices.Equal(sd.AllSeqNums(), []uint32{1}) {
		t.Errorf("SEARCH BODY = %v, %v", sd, err)
	}
	sd, err = c.Search(&imap.SearchCriteria{NotFlag: []imap.Flag{imap.FlagSeen}}, nil).Wait()
	if err != nil || !slices.Equal(sd.AllSeqNums(), []uint32{1}) {
		t.Errorf("SEARCH UNSEEN = %v, %v", sd, err)
	}

	// COPY and MOVE with COPYUID; MOVE's EXPUNGE reaches the client.
	if err := c.Create("Saved", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	cd, err := c.Copy(imap.SeqSetNum(1), "Saved").Wait()
	if err != nil || cd.DestUIDs == nil {
		t.Fatalf("COPY = %+v, %v", cd, err)
	}
	if _, err := c.Copy(imap.SeqSetNum(1), "Nowhere").Wait(); imapCode(err) != imap.ResponseCodeTryCreate {
		t.Errorf("COPY to missing folder: %v, want TRYCREATE", err)
	}
	md, err := c.Move(imap.SeqSetNum(1), "Saved").Wait()
	if err != nil || md.DestUIDs == nil {
		t.Fatalf("MOVE = %+v, %v", md, err)
	}
	if n := c.Mailbox().NumMessages; n != 2 {
		t.Errorf("client sees %d messages after MOVE, want 2", n)
	}
	if got := e.folderUIDs(acct, "Saved"); len(got) != 2 {
		t.Errorf("Archive holds %v", got)
	}
	st2, err := c.Status("Saved", &imap.StatusOptions{NumMessages: true, Size: true, UIDValidity: true, NumDeleted: true}).Wait()
	if err != nil || *st2.NumMessages != 2 || *st2.Size == 0 {
		t.Errorf("STATUS = %+v, %v", st2, err)
	}
}

// EXAMINE is read-only in the backend: go-imap does not stop writes there.
func TestExamineReadOnly(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	acct := e.account("alice@example.org")
	e.deliver(acct, "INBOX", "one")
	e.deliver(acct, "INBOX", "two")
	c := e.client("alice@example.org", nil)
	// Mark one message \Deleted first, from a read-write session.
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	if err := c.Store(imap.SeqSetNum(2), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagDeleted}}, nil).Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Select("INBOX", &imap.SelectOptions{ReadOnly: true}).Wait(); err != nil {
		t.Fatal(err)
	}
	readOnly := func(what string, err error) {
		t.Helper()
		if imapCode(err) != "READ-ONLY" {
			t.Errorf("%s under EXAMINE: %v, want NO [READ-ONLY]", what, err)
		}
	}
	readOnly("STORE", c.Store(imap.SeqSetNum(1), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{imap.FlagFlagged}}, nil).Close())
	_, err := c.Expunge().Collect()
	readOnly("EXPUNGE", err)
	_, err = c.UIDExpunge(imap.UIDSetNum(2)).Collect()
	readOnly("UID EXPUNGE", err)
	_, err = c.Move(imap.SeqSetNum(1), "INBOX").Wait()
	readOnly("MOVE", err)
	_, err = c.Copy(imap.SeqSetNum(1), "INBOX").Wait()
	readOnly("COPY into the examined folder", err)
	msg := testMessage("x")
	ac := c.Append("INBOX", int64(len(msg)), nil)
	ac.Write(msg)
	ac.Close()
	_, err = ac.Wait()
	readOnly("APPEND into the examined folder", err)

	// Non-PEEK FETCH does not set \Seen.
	if _, err := c.Fetch(imap.SeqSetNum(1), &imap.FetchOptions{BodySection: []*imap.FetchItemBodySection{{}}}).Collect(); err != nil {
		t.Fatal(err)
	}
	// CLOSE succeeds and removes nothing (RFC 9051 6.4.1).
	if err := c.UnselectAndExpunge().Wait(); err != nil {
		t.Fatalf("CLOSE after EXAMINE: %v", err)
	}
	ctx := context.Background()
	f, _ := e.store.OpenFolder(ctx, acct, "INBOX")
	msgs, _ := f.Messages(ctx)
	if len(msgs) != 2 {
		t.Fatalf("CLOSE under EXAMINE expunged: %d left", len(msgs))
	}
	for _, m := range msgs {
		if slices.Contains(m.Flags, `\Seen`) || slices.Contains(m.Flags, `\Flagged`) {
			t.Errorf("EXAMINE changed flags of %d: %v", m.UID, m.Flags)
		}
	}
}

// \Recent goes to exactly one session (RFC 3501 2.3.2).
func TestRecent(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	acct := e.account("alice@example.org")
	e.deliver(acct, "INBOX", "one")
	a := e.client("alice@example.org", nil)
	b := e.client("alice@example.org", nil)
	recentOf := func(c *imapclient.Client) []uint32 {
		t.Helper()
		sd, err := c.Search(&imap.SearchCriteria{Flag: []imap.Flag{`\Recent`}}, nil).Wait()
		if err != nil {
			t.Fatal(err)
		}
		return sd.AllSeqNums()
	}
	if _, err := a.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	if got := recentOf(a); !slices.Equal(got, []uint32{1}) {
		t.Errorf("first session's recent = %v, want [1]", got)
	}
	if _, err := b.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	if got := recentOf(b); len(got) != 0 {
		t.Errorf("second session's recent = %v, want none", got)
	}
	e.deliver(acct, "INBOX", "two")
	waitFor(t, func() bool { return a.Noop().Wait() == nil && a.Mailbox().NumMessages == 2 })
	waitFor(t, func() bool { return b.Noop().Wait() == nil && b.Mailbox().NumMessages == 2 })
	ra, rb := recentOf(a), recentOf(b)
	if len(ra)+len(rb) != 2 || (len(rb) == 1 && len(ra) == 1 && ra[0] == rb[0]) {
		t.Errorf("after delivery: recent in a %v, b %v; want the new message in exactly one", ra, rb)
	}
	st, err := a.Status("INBOX", &imap.StatusOptions{NumMessages: true}).Wait()
	if err != nil || *st.NumMessages != 2 {
		t.Errorf("STATUS = %+v, %v", st, err)
	}
}

func waitFor(t testing.TB, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached in 5s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// A delivered message reaches an IDLE session within a second.
func TestIdleLatency(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	acct := e.account("alice@example.org")
	cnt := newCounter()
	c := e.client("alice@example.org", cnt.handler())
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	idle, err := c.Idle()
	if err != nil {
		t.Fatal(err)
	}
	var worst time.Duration
	for i := range 5 {
		start := time.Now()
		e.deliver(acct, "INBOX", fmt.Sprintf("idle %d", i))
		select {
		case n := <-cnt.exists:
			d := time.Since(start)
			worst = max(worst, d)
			if n != uint32(i+1) {
				t.Errorf("EXISTS %d, want %d", n, i+1)
			}
		case <-time.After(time.Second):
			t.Fatalf("no EXISTS within 1s of delivery %d", i)
		}
	}
	if err := idle.Close(); err != nil {
		t.Fatal(err)
	}
	if err := idle.Wait(); err != nil {
		t.Fatal(err)
	}
	t.Logf("IDLE: worst delivery-to-EXISTS latency %v (incl. the durable commit)", worst)
}

// Several sessions and deliveries change one folder at once; every session's
// view must end equal to the store's, with no tracker panic (a panic would
// drop the connection).
func TestConcurrentSessionsAndDelivery(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{noSync: true})
	acct := e.account("alice@example.org")
	for i := range 20 {
		e.deliver(acct, "INBOX", fmt.Sprintf("seed %d", i))
	}
	const sessions = 4
	counters := make([]*counter, sessions)
	clients := make([]*imapclient.Client, sessions)
	for i := range sessions {
		counters[i] = newCounter()
		clients[i] = e.client("alice@example.org", counters[i].handler())
		sel, err := clients[i].Select("INBOX", nil).Wait()
		if err != nil {
			t.Fatal(err)
		}
		counters[i].set(sel.NumMessages)
		// imapclient signals SELECT's completion a moment before it
		// records the selected mailbox.
		waitFor(t, func() bool { return clients[i].Mailbox() != nil })
	}
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	// Delivery, as SMTP does it.
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := range 30 {
			e.deliver(acct, "INBOX", fmt.Sprintf("live %d", i))
		}
	}()
	// Each session flags and expunges messages, and appends one.
	for i, c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for round := range 5 {
				mbox := c.Mailbox()
				if mbox == nil {
					errs <- fmt.Errorf("session %d lost its selection", i)
					return
				}
				n := mbox.NumMessages
				if n == 0 {
					continue
				}
				seq := uint32(round*sessions+i)%n + 1
				if err := c.Store(imap.SeqSetNum(seq), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagDeleted}}, nil).Close(); err != nil {
					errs <- fmt.Errorf("session %d STORE: %w", i, err)
					return
				}
				if _, err := c.Expunge().Collect(); err != nil {
					errs <- fmt.Errorf("session %d EXPUNGE: %w", i, err)
					return
				}
				if _, err := c.Fetch(imap.SeqSetNum(1, n), &imap.FetchOptions{Flags: true, UID: true}).Collect(); err != nil {
					errs <- fmt.Errorf("session %d FETCH: %w", i, err)
					return
				}
			}
			msg := testMessage(fmt.Sprintf("append %d", i))
			ac := c.Append("INBOX", int64(len(msg)), nil)
			ac.Write(msg)
			ac.Close()
			if _, err := ac.Wait(); err != nil {
				errs <- fmt.Errorf("session %d APPEND: %w", i, err)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	want := e.folderUIDs(acct, "INBOX")
	for i, c := range clients {
		// Settle: NOOP until the session has heard every event.
		waitFor(t, func() bool {
			if err := c.Noop().Wait(); err != nil {
				t.Fatalf("session %d NOOP: %v", i, err)
			}
			return c.Mailbox().NumMessages == uint32(len(want))
		})
		msgs := fetchAll(t, c, &imap.FetchOptions{UID: true})
		var got []uint32
		for j, m := range msgs {
			if m.SeqNum != uint32(j+1) {
				t.Errorf("session %d: message %d has seq %d", i, j+1, m.SeqNum)
			}
			got = append(got, uint32(m.UID))
		}
		if !slices.Equal(got, want) {
			t.Errorf("session %d sees %v\nstore has %v", i, got, want)
		}
		if cn := counters[i].get(); cn != uint32(len(want)) {
			t.Errorf("session %d: EXISTS/EXPUNGE responses add up to %d, store has %d", i, cn, len(want))
		}
	}
}

// UIDs, UIDVALIDITY, flags and keywords survive a restart of the server
// and the store.
func TestPersistenceAcrossRestart(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	e := newEnv(t, envOptions{dir: dir})
	acct := e.account("alice@example.org")
	e.deliver(acct, "INBOX", "one")
	e.deliver(acct, "INBOX", "two")
	c := e.client("alice@example.org", nil)
	sel, err := c.Select("INBOX", nil).Wait()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Store(imap.SeqSetNum(2), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{imap.FlagAnswered, "$Label1"}}, nil).Close(); err != nil {
		t.Fatal(err)
	}
	before := fetchAll(t, c, &imap.FetchOptions{UID: true, Flags: true})
	c.Close()
	e.stop()

	e2 := newEnv(t, envOptions{dir: dir})
	c2 := e2.client("alice@example.org", nil)
	sel2, err := c2.Select("INBOX", nil).Wait()
	if err != nil {
		t.Fatal(err)
	}
	if sel2.UIDValidity != sel.UIDValidity || sel2.UIDNext != sel.UIDNext {
		t.Errorf("after restart UIDVALIDITY/UIDNEXT %d/%d, before %d/%d", sel2.UIDValidity, sel2.UIDNext, sel.UIDValidity, sel.UIDNext)
	}
	after := fetchAll(t, c2, &imap.FetchOptions{UID: true, Flags: true})
	if len(after) != len(before) {
		t.Fatalf("after restart %d messages, before %d", len(after), len(before))
	}
	for i := range before {
		bf := slices.DeleteFunc(slices.Clone(before[i].Flags), func(f imap.Flag) bool { return f == `\Recent` })
		af := slices.DeleteFunc(slices.Clone(after[i].Flags), func(f imap.Flag) bool { return f == `\Recent` })
		slices.Sort(bf)
		slices.Sort(af)
		if before[i].UID != after[i].UID || !slices.Equal(bf, af) {
			t.Errorf("message %d: before %d %v, after %d %v", i+1, before[i].UID, bf, after[i].UID, af)
		}
	}
}
