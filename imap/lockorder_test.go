package imap

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// stallLimit is how long one operation may take before the lock-order
// stress test calls it a stall.
const stallLimit = 5 * time.Second

// The lock order of maildir/doc.go under load: RENAME, DELETE, CREATE,
// STORE with new keywords, APPEND, COPY, MOVE, EXPUNGE over IMAP, SMTP's
// delivery path, and account deletion and re-creation, all at once, for
// 30 s (IMMP_STRESS_SECS; 5 s with -short). Errors are expected (a folder
// renamed away under a command); a stall is not: any operation that runs
// longer than stallLimit fails the test with every goroutine's stack.
func TestLockOrderStress(t *testing.T) {
	t.Parallel()
	secs := 30
	if testing.Short() {
		secs = 5
	}
	if v, err := strconv.Atoi(os.Getenv("IMMP_STRESS_SECS")); err == nil {
		secs = v
	}
	e := newEnv(t, envOptions{noSync: true, mutate: func(o *Options) { o.MaxConnsPerIP = -1 }})
	ctx := context.Background()
	alice := e.account("alice@example.org")
	e.account("bob@example.org")
	for _, n := range []string{"INBOX/a", "INBOX/c", "Archive"} {
		e.store.CreateFolder(ctx, alice, n)
	}

	deadline := time.Now().Add(time.Duration(secs) * time.Second)
	var ops atomic.Int64
	type slot struct {
		name     atomic.Value // string
		since    atomic.Int64 // unix nanos; 0 when idle
		ok, fail atomic.Int64
		lastErr  atomic.Value // string
	}
	var slots []*slot
	var wg sync.WaitGroup
	// IMAP operations may be refused (NO: a folder renamed away), never
	// answered with a broken protocol or a server bug.
	var broken atomic.Int64
	// Each client's last octets on the wire, shown when it breaks.
	var tailsMu sync.Mutex
	tails := map[string]*tailBuffer{}
	checkIMAP := func(name string, err error) {
		var ie *imap.Error
		if err == nil || (errors.As(err, &ie) && ie.Type == imap.StatusResponseTypeNo && ie.Code != imap.ResponseCodeServerBug) {
			return
		}
		if broken.Add(1) <= 3 {
			tailsMu.Lock()
			tb := tails[name]
			tailsMu.Unlock()
			t.Errorf("%s: %v\nlast octets on the wire:\n%s", name, err, tb)
		}
	}
	worker := func(name string, op func(r *rand.Rand) error) {
		s := &slot{}
		slots = append(slots, s)
		seed := uint64(len(slots))
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(seed, 7))
			for time.Now().Before(deadline) {
				s.name.Store(name)
				s.since.Store(time.Now().UnixNano())
				err := op(r)
				if !strings.HasPrefix(name, "deliver") && !strings.HasPrefix(name, "user") {
					checkIMAP(name, err)
				}
				if err == nil { // errors are part of the race; stalls are not
					s.ok.Add(1)
				} else {
					s.fail.Add(1)
					s.lastErr.Store(err.Error())
				}
				s.since.Store(0)
				ops.Add(1)
			}
		}()
	}
	login := func(user string, names ...string) *imapclient.Client {
		tb := &tailBuffer{}
		tailsMu.Lock()
		for _, n := range names {
			tails[n] = tb
		}
		tailsMu.Unlock()
		c, err := imapclient.DialInsecure(e.addr, &imapclient.Options{DebugWriter: tb})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		if err := c.Login(user, testPassword).Wait(); err != nil {
			t.Fatal(err)
		}
		return c
	}
	folders := []string{"INBOX", "INBOX/a", "INBOX/b", "INBOX/c", "Archive"}
	pick := func(r *rand.Rand) string { return folders[r.IntN(len(folders))] }

	renamer := login("alice@example.org", "RENAME")
	worker("RENAME", func(r *rand.Rand) error {
		if err := renamer.Rename("INBOX/a", "INBOX/b", nil).Wait(); err != nil {
			return renamer.Rename("INBOX/b", "INBOX/a", nil).Wait()
		}
		return nil
	})
	creator := login("alice@example.org", "CREATE/DELETE")
	worker("CREATE/DELETE", func(r *rand.Rand) error {
		if r.IntN(2) == 0 {
			return creator.Create("INBOX/c", nil).Wait()
		}
		return creator.Delete("INBOX/c").Wait()
	})
	for i := range 2 {
		name := fmt.Sprintf("STORE/EXPUNGE %d", i)
		c := login("alice@example.org", name)
		var so *imap.StoreOptions
		if i == 1 { // conditional STORE (maildir.StoreFlagsIf)
			so = &imap.StoreOptions{UnchangedSince: 1 << 62}
		}
		worker(name, func(r *rand.Rand) error {
			if _, err := c.Select(pick(r), &imap.SelectOptions{CondStore: i == 1}).Wait(); err != nil {
				return err
			}
			kw := imap.Flag(fmt.Sprintf("$kw%d", r.IntN(20)))
			c.Store(imap.SeqSetNum(1, 2, 3), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{kw, imap.FlagDeleted}}, so).Close()
			return c.Expunge().Close()
		})
	}
	appender := login("alice@example.org", "APPEND")
	worker("APPEND", func(r *rand.Rand) error {
		msg := testMessage("appended")
		cmd := appender.Append(pick(r), int64(len(msg)), &imap.AppendOptions{Flags: []imap.Flag{imap.Flag(fmt.Sprintf("$ap%d", r.IntN(5)))}})
		cmd.Write(msg)
		cmd.Close()
		_, err := cmd.Wait()
		return err
	})
	mover := login("alice@example.org", "COPY/MOVE")
	worker("COPY/MOVE", func(r *rand.Rand) error {
		if _, err := mover.Select(pick(r), nil).Wait(); err != nil {
			return err
		}
		if r.IntN(2) == 0 {
			_, err := mover.Copy(imap.SeqSetNum(1, 2), pick(r)).Wait()
			return err
		}
		_, err := mover.Move(imap.SeqSetNum(1), pick(r)).Wait()
		return err
	})
	idler := login("alice@example.org", "SELECT/NOOP")
	worker("SELECT/NOOP", func(r *rand.Rand) error {
		if _, err := idler.Select(pick(r), nil).Wait(); err != nil {
			return err
		}
		return idler.Noop().Wait()
	})
	for i := range 2 {
		worker(fmt.Sprintf("deliver %d", i), func(r *rand.Rand) error {
			acct, err := e.store.Account(ctx, "alice@example.org")
			if err != nil {
				return err
			}
			d, err := e.store.BeginDelivery(ctx)
			if err != nil {
				return err
			}
			d.Write(testMessage("delivered"))
			d.AddRecipient(acct, pick(r))
			if b, err := e.store.Account(ctx, "bob@example.org"); err == nil {
				d.AddRecipient(b, "INBOX")
			}
			_, err = d.Commit(ctx)
			return err
		})
	}
	worker("user del/add", func(r *rand.Rand) error {
		c, err := imapclient.DialInsecure(e.addr, nil)
		if err == nil {
			defer c.Close()
			if c.Login("bob@example.org", testPassword).Wait() == nil {
				c.Select("INBOX", nil).Wait()
			}
		}
		if err := e.store.DeleteAccount(ctx, "bob@example.org"); err != nil {
			return err
		}
		_, err = e.store.AddAccount(ctx, "bob@example.org", testPassword)
		return err
	})

	dump := func(why string) {
		var b bytes.Buffer
		pprof.Lookup("goroutine").WriteTo(&b, 2)
		t.Errorf("%s\n%s", why, b.String())
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-done:
			t.Logf("%d operations in %d s, none stalled", ops.Load(), secs)
			for _, s := range slots {
				t.Logf("%-16s %6d ok %6d failed (last: %v)", s.name.Load(), s.ok.Load(), s.fail.Load(), s.lastErr.Load())
				if s.ok.Load() == 0 {
					t.Errorf("%s never succeeded: the stress did not exercise it", s.name.Load())
				}
			}
			return
		case <-tick.C:
		}
		for _, s := range slots {
			if since := s.since.Load(); since != 0 && time.Since(time.Unix(0, since)) > stallLimit {
				dump(fmt.Sprintf("%s has waited %v: stall", s.name.Load(), time.Since(time.Unix(0, since)).Round(time.Millisecond)))
				return
			}
		}
	}
}

// tailBuffer keeps the last octets written to it (a client's wire log).
type tailBuffer struct {
	mu  sync.Mutex
	buf []byte
}

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	if over := len(b.buf) - 4096; over > 0 {
		b.buf = append(b.buf[:0], b.buf[over:]...)
	}
	return len(p), nil
}

func (b *tailBuffer) String() string {
	if b == nil {
		return ""
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.buf)
}
