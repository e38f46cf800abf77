package maildir

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// The load of the power-cut test (powercut_test.go): deliveries to one
// to three folders at once, APPENDs, COPYs and MOVEs, flag changes,
// expunges and readers, all concurrent. Each notes in the file system's
// log what it acknowledged or showed, and when it began to remove or
// change something.

// pcRun is one run's load.
type pcRun struct {
	t      *testing.T
	s      *Store
	rec    *recFS
	acct   map[string]Account
	tokens atomic.Int64
	mu     sync.Mutex
	acked  map[string]bool // folder/token acknowledged and noted
	shown  map[string]bool // folder/uid noted as shown
	errs   chan error
	done   sync.Map // kind of operation -> *atomic.Int64 done
}

func (r *pcRun) count(kind string) {
	v, _ := r.done.LoadOrStore(kind, new(atomic.Int64))
	v.(*atomic.Int64).Add(1)
}

func (r *pcRun) counts() string {
	var out []string
	r.done.Range(func(k, v any) bool {
		out = append(out, fmt.Sprintf("%s %d", k, v.(*atomic.Int64).Load()))
		return true
	})
	sort.Strings(out)
	return strings.Join(out, ", ")
}

// load runs the mixed load to its end.
func (r *pcRun) load(seed uint64) {
	// Events show UIDs too.
	for _, f := range pcFolders {
		key, mb := pcFolderKey(f.addr, f.name), r.s.box(r.acct[f.addr], f.name)
		defer r.s.Subscribe(r.acct[f.addr], f.name, func(ev Event) {
			if ev.Kind == EventNew {
				r.show(mb, key, ev.UID)
			}
		})()
	}
	var wg sync.WaitGroup
	var stop atomic.Bool
	run := func(n int, f func(rng *rand.Rand)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(seed, uint64(n)))
			f(rng)
		}()
	}
	for w := 0; w < 3; w++ {
		run(10+w, func(rng *rand.Rand) {
			for range 12 {
				r.deliver(rng)
			}
		})
	}
	run(20, func(rng *rand.Rand) {
		for range 8 {
			r.append(rng)
		}
	})
	// These take messages delivered meanwhile: they try until they did
	// their share.
	retry := func(n int, f func(rng *rand.Rand) bool) func(rng *rand.Rand) {
		return func(rng *rand.Rand) {
			for tries := 0; n > 0 && tries < 2000; tries++ {
				if f(rng) {
					n--
				} else {
					time.Sleep(time.Millisecond)
				}
			}
		}
	}
	run(21, retry(10, r.copyOrMove))
	run(22, retry(12, r.flags))
	var readers sync.WaitGroup
	readers.Add(1)
	go func() {
		defer readers.Done()
		rng := rand.New(rand.NewPCG(seed, 30))
		for !stop.Load() {
			f := pcFolders[rng.IntN(len(pcFolders))]
			r.list(f.addr, f.name)
			time.Sleep(time.Duration(rng.IntN(2000)) * time.Microsecond)
		}
	}()
	wg.Wait()
	stop.Store(true)
	readers.Wait()
}

func (r *pcRun) fail(format string, args ...any) {
	select {
	case r.errs <- fmt.Errorf(format, args...):
	default:
	}
}

func (r *pcRun) isAcked(folder string, tok int) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.acked[folder+"/"+strconv.Itoa(tok)]
}

func (r *pcRun) ack(folder string, tok int, info string) {
	r.rec.note(ackNote{folder: folder, token: tok, info: info})
	r.mu.Lock()
	r.acked[folder+"/"+strconv.Itoa(tok)] = true
	r.mu.Unlock()
}

func (r *pcRun) gone(folder string, tok int) {
	r.mu.Lock()
	delete(r.acked, folder+"/"+strconv.Itoa(tok))
	r.mu.Unlock()
	r.rec.note(goneNote{folder: folder, token: tok})
}

// show notes the UIDs shown for a folder, with the files they name.
func (r *pcRun) show(mb *mailbox, key string, uids ...uint32) {
	for _, uid := range uids {
		mb.mu.Lock()
		m := mb.byUID[uid]
		mb.mu.Unlock()
		sk := key + "/" + strconv.FormatUint(uint64(uid), 10)
		r.mu.Lock()
		dup := r.shown[sk]
		r.shown[sk] = true
		r.mu.Unlock()
		if m != nil && !dup {
			r.rec.note(shownNote{folder: key, uid: uid, base: m.base})
		}
	}
}

func (r *pcRun) open(addr, name string) *Folder {
	f, err := r.s.OpenFolder(context.Background(), r.acct[addr], name)
	if err != nil {
		r.fail("open %s %s: %v", addr, name, err)
		return nil
	}
	return f
}

// list reads a folder as a client would, noting the UIDs shown.
func (r *pcRun) list(addr, name string) []Message {
	f := r.open(addr, name)
	if f == nil {
		return nil
	}
	ms, err := f.Messages(context.Background())
	if err != nil {
		r.fail("messages %s: %v", name, err)
		return nil
	}
	for _, m := range ms {
		r.show(f.mb, pcFolderKey(addr, name), m.UID)
	}
	return ms
}

func (r *pcRun) deliver(rng *rand.Rand) {
	ctx := context.Background()
	tok := int(r.tokens.Add(1))
	d, err := r.s.BeginDelivery(ctx)
	if err != nil {
		r.fail("begin: %v", err)
		return
	}
	targets := []int{0, 1, 3}
	rng.Shuffle(len(targets), func(i, j int) { targets[i], targets[j] = targets[j], targets[i] })
	for _, i := range targets[:1+rng.IntN(len(targets))] {
		if err := d.AddRecipient(r.acct[pcFolders[i].addr], pcFolders[i].name); err != nil {
			r.fail("add recipient: %v", err)
		}
	}
	d.Write(pcBody(tok))
	ds, err := d.Commit(ctx)
	if err != nil {
		r.fail("commit: %v", err)
		return
	}
	for _, x := range ds {
		r.ack(pcFolderKey(x.Account.Address, x.Folder), tok, "")
	}
	r.count("deliveries")
}

func (r *pcRun) append(rng *rand.Rand) {
	tok := int(r.tokens.Add(1))
	name := []string{"Archive", "INBOX/work"}[rng.IntN(2)]
	f := r.open("alice@example.org", name)
	if f == nil {
		return
	}
	flags := randomFlags(rng)
	uid, err := f.Append(context.Background(), bytes.NewReader(pcBody(tok)), flags, time.Time{})
	if err != nil {
		r.fail("append: %v", err)
		return
	}
	key := pcFolderKey("alice@example.org", name)
	r.ack(key, tok, infoOf(flags))
	r.show(f.mb, key, uid)
	r.count("appends")
}

func randomFlags(rng *rand.Rand) []string {
	var out []string
	for _, f := range []string{`\Seen`, `\Flagged`, `\Answered`} {
		if rng.IntN(2) == 0 {
			out = append(out, f)
		}
	}
	return out
}

// pick chooses an acknowledged message of a folder and says which it is.
func (r *pcRun) pick(rng *rand.Rand, addr, name string) (*Folder, uint32, int, bool) {
	ms := r.list(addr, name)
	if len(ms) == 0 {
		return nil, 0, 0, false
	}
	f := r.open(addr, name)
	if f == nil {
		return nil, 0, 0, false
	}
	m := ms[rng.IntN(len(ms))]
	rc, err := f.OpenMessage(context.Background(), m.UID)
	if err != nil {
		r.fail("open message: %v", err)
		return nil, 0, 0, false
	}
	data, _ := io.ReadAll(rc)
	rc.Close()
	tok, ok := pcToken(data)
	if !ok {
		r.fail("%s UID %d is not a whole message", name, m.UID)
		return nil, 0, 0, false
	}
	return f, m.UID, tok, r.isAcked(pcFolderKey(addr, name), tok)
}

// copyOrMove takes a message from alice's INBOX (only this touches
// INBOX after delivery) to Archive, once per message.
func (r *pcRun) copyOrMove(rng *rand.Rand) bool {
	src, uid, tok, ok := r.pick(rng, "alice@example.org", "INBOX")
	inbox, archive := pcFolderKey("alice@example.org", "INBOX"), pcFolderKey("alice@example.org", "Archive")
	if !ok || r.isAcked(archive, tok) {
		return false
	}
	var dst []uint32
	var err error
	if rng.IntN(2) == 0 {
		r.mu.Lock()
		delete(r.acked, inbox+"/"+strconv.Itoa(tok))
		r.mu.Unlock()
		r.rec.note(moveNote{from: inbox, to: archive, token: tok})
		_, dst, err = src.Move(context.Background(), []uint32{uid}, "Archive")
		r.count("moves")
	} else {
		_, dst, err = src.Copy(context.Background(), []uint32{uid}, "Archive")
		r.count("copies")
	}
	if err != nil || len(dst) != 1 {
		r.fail("copy/move: %v %v", dst, err)
		return true
	}
	r.ack(archive, tok, "")
	if f := r.open("alice@example.org", "Archive"); f != nil {
		r.show(f.mb, archive, dst[0])
	}
	return true
}

// flags changes the flags of a message of INBOX/work (only this does),
// or expunges it.
func (r *pcRun) flags(rng *rand.Rand) bool {
	f, uid, tok, ok := r.pick(rng, "alice@example.org", "INBOX/work")
	if !ok {
		return false
	}
	ctx := context.Background()
	key := pcFolderKey("alice@example.org", "INBOX/work")
	if rng.IntN(4) == 0 {
		r.gone(key, tok)
		if _, err := f.StoreFlags(ctx, []uint32{uid}, FlagsAdd, []string{`\Deleted`}); err != nil {
			r.fail("store flags: %v", err)
		}
		if _, err := f.Expunge(ctx, []uint32{uid}); err != nil {
			r.fail("expunge: %v", err)
		}
		r.count("expunges")
		return true
	}
	flags := randomFlags(rng)
	info := infoOf(flags)
	r.rec.note(flagsNote{folder: key, token: tok, info: info})
	if _, err := f.StoreFlags(ctx, []uint32{uid}, FlagsSet, flags); err != nil {
		r.fail("store flags: %v", err)
		return true
	}
	r.rec.note(flagsNote{folder: key, token: tok, info: info, done: true})
	r.count("flag changes")
	return true
}
