package maildir

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// The power-cut test (doc.go, "Invariants"). A Store runs on the
// recording file system (fsrec_test.go) under a mixed load: several
// concurrent deliveries, APPENDs, COPYs and MOVEs, flag changes and
// expunges, and readers. Then every moment of the run is taken in turn
// as the moment the power went: what would survive is worked out from
// the fsyncs that had completed (file contents their file's fsync
// covered; directory entries their directory's fsync covered), and
// checked against what had been acknowledged and shown by then:
//
//   - every message file left in new/ and cur/ is whole;
//   - every acknowledged message (Delivery.Commit, Append, Copy or Move
//     returned) that nobody had begun to remove is there, with the flags
//     the last StoreFlags that returned gave it (or those of one still
//     under way);
//   - every UID shown (Messages, Append, Copy, Move) is in the surviving
//     dovecot-uidlist, naming the same file.
//
// At a few of those moments, chosen at random, the surviving tree is
// written out, a Store is opened on it, and the same is checked through
// the Store; a new delivery there must get a UID nobody saw before.
//
// go test -run TestPowerCut ./maildir                   (3 runs)
// go test -run TestPowerCut ./maildir -powercut.runs=50

var powercutRuns = flag.Int("powercut.runs", 3, "runs of the power-cut test")

// Test events, recorded in the file system's log (recFS.note).
type (
	ackNote struct {
		folder, info string
		token        int
	} // acknowledged with these flags
	goneNote struct {
		folder string
		token  int
	} // its removal begins
	moveNote struct {
		from, to string
		token    int
	} // it begins to move
	flagsNote struct { // a flag change begins (or returned)
		folder, info string
		token        int
		done         bool
	}
	shownNote struct { // a UID was shown for base
		folder, base string
		uid          uint32
	}
)

var pcFolders = []struct{ addr, name string }{
	{"alice@example.org", "INBOX"},
	{"alice@example.org", "INBOX/work"},
	{"alice@example.org", "Archive"},
	{"bob@example.org", "INBOX"},
}

func pcFolderKey(addr, name string) string { return addr + "/" + name }

// pcBody is message token's content: 100 octets to 24 KiB.
func pcBody(token int) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "Subject: pc %d\r\n\r\n", token)
	line := strings.Repeat(strconv.Itoa(token%10), 78) + "\r\n"
	for n := (token * 7919) % 300; n > 0; n-- {
		b.WriteString(line)
	}
	fmt.Fprintf(&b, "end %d\r\n", token)
	return b.Bytes()
}

// pcToken says which message data is, if it is one whole.
func pcToken(data []byte) (int, bool) {
	var tok int
	if _, err := fmt.Sscanf(string(data[:min(len(data), 40)]), "Subject: pc %d", &tok); err != nil {
		return 0, false
	}
	return tok, bytes.Equal(data, pcBody(tok))
}

func infoOf(flags []string) string {
	var b []byte
	for _, f := range flags {
		if l, ok := flagLetter(f); ok {
			b = append(b, l)
		}
	}
	return normInfo(string(b))
}

func TestPowerCut(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	for run := 0; run < *powercutRuns; run++ {
		seed := rand.Uint64()
		t.Run(fmt.Sprintf("run%d", run), func(t *testing.T) {
			t.Logf("seed %d", seed)
			powerCut(t, seed)
		})
	}
}

func powerCut(t *testing.T, seed uint64) {
	ctx := context.Background()
	data := t.TempDir()
	s := openStore(t, Options{DataDir: data})
	acct := map[string]Account{}
	for _, addr := range []string{"alice@example.org", "bob@example.org"} {
		acct[addr] = newAccount(t, s, addr)
	}
	for _, f := range pcFolders[1:3] {
		if err := s.CreateFolder(ctx, acct[f.addr], f.name); err != nil && !errors.Is(err, ErrAlreadyExists) {
			t.Fatal(err)
		}
	}
	dirs := map[string]string{}
	for _, f := range pcFolders {
		dirs[pcFolderKey(f.addr, f.name)] = folderDir(s.AccountDir(acct[f.addr]), f.name)
	}
	s.Close()
	base := t.TempDir()
	if err := copyTree(data, base); err != nil {
		t.Fatal(err)
	}

	rec, err := newRecFS(data)
	if err != nil {
		t.Fatal(err)
	}
	var rmu sync.Mutex
	rng := rand.New(rand.NewPCG(seed, 1))
	rec.syncDelay = func() time.Duration {
		rmu.Lock()
		defer rmu.Unlock()
		return time.Duration(rng.IntN(400)) * time.Microsecond
	}
	s = openStore(t, Options{DataDir: data, fs: rec})
	r := &pcRun{t: t, s: s, rec: rec, acct: acct, acked: map[string]bool{}, shown: map[string]bool{}, errs: make(chan error, 100)}
	began := time.Now()
	r.load(seed)
	s.Close()
	loaded := time.Since(began)
	select {
	case err := <-r.errs:
		t.Fatal(err)
	default:
	}

	ops := rec.log()
	d := rec.start()
	exp := newPCExpect()
	var points []int // the moments checked through a reopened Store
	for i := 0; i < 4; i++ {
		points = append(points, rng.IntN(len(ops)+1))
	}
	points = append(points, len(ops))
	sort.Ints(points)
	checks := 0
	for i := 0; i <= len(ops); i++ {
		// The surviving state changes only at a completed fsync, and what
		// must have survived shrinks only when a removal or a flag
		// change begins: the moments just before those are all there is
		// to check.
		var o fsOp
		if i < len(ops) {
			o = ops[i]
		}
		relaxes := false
		switch n := o.note.(type) {
		case goneNote:
			relaxes = true
		case flagsNote:
			relaxes = !n.done
		}
		if i == len(ops) || o.kind == opSyncFile || o.kind == opSyncDir || relaxes {
			checks++
			if err := exp.check(d, dirs); err != nil {
				t.Fatalf("power cut before op %d of %d: %v\n%s", i, len(ops), err, opsAround(ops, i))
			}
		}
		for len(points) > 0 && points[0] == i {
			points = points[1:]
			if err := reopenCheck(t, d, exp, data, base, dirs); err != nil {
				t.Fatalf("power cut before op %d of %d, through a reopened Store: %v\n%s", i, len(ops), err, opsAround(ops, i))
			}
		}
		if i < len(ops) {
			d.apply(i, o)
			if o.kind == opNote {
				exp.apply(o.note)
			}
		}
	}
	t.Logf("load %v, checks %v", loaded.Round(time.Millisecond), (time.Since(began) - loaded).Round(time.Millisecond))
	t.Logf("%s; %d operations, %d moments checked, %d acknowledged copies, %d UIDs shown", r.counts(), len(ops), checks, exp.acks, exp.nshown)
}

// pcExpect is what must survive a power cut at a given moment.
type pcExpect struct {
	required map[string]map[int]map[string]bool // folder -> token -> flags (info) it may have
	shown    map[string]map[uint32]string       // folder -> UID -> base name
	moving   map[int]moveNote                   // token -> a move under way
	acks     int
	nshown   int
}

func newPCExpect() *pcExpect {
	return &pcExpect{required: map[string]map[int]map[string]bool{}, shown: map[string]map[uint32]string{}, moving: map[int]moveNote{}}
}

func (e *pcExpect) apply(note any) {
	switch n := note.(type) {
	case ackNote:
		if e.required[n.folder] == nil {
			e.required[n.folder] = map[int]map[string]bool{}
		}
		e.required[n.folder][n.token] = map[string]bool{n.info: true}
		e.acks++
		if m, ok := e.moving[n.token]; ok && m.to == n.folder {
			delete(e.moving, n.token)
		}
	case goneNote:
		delete(e.required[n.folder], n.token)
	case moveNote:
		// Until it returns, a message being moved is in one folder or
		// the other (or both), never in neither.
		delete(e.required[n.from], n.token)
		e.moving[n.token] = n
	case flagsNote:
		if allowed := e.required[n.folder][n.token]; allowed != nil {
			if n.done {
				e.required[n.folder][n.token] = map[string]bool{n.info: true}
			} else {
				allowed[n.info] = true
			}
		}
	case shownNote:
		if e.shown[n.folder] == nil {
			e.shown[n.folder] = map[uint32]string{}
		}
		e.shown[n.folder][n.uid] = n.base
		e.nshown++
	}
}

type tokenMemo struct {
	tok  int
	ok   bool
	size int
}

// pcFile is a message file that survives.
type pcFile struct {
	name  string
	n     node
	token int
	info  string
}

// survivors lists the message files of a folder that survive, by base
// name (cur/ winning over new/, as a scan has it).
func survivors(d *durable, dir string) (map[string]pcFile, error) {
	out := map[string]pcFile{}
	for _, sub := range []string{"new", "cur"} {
		ents := d.entries(filepath.Join(dir, sub))
		for _, name := range sortedNames(ents) {
			n := ents[name]
			if n.gen < 0 {
				return nil, fmt.Errorf("%s/%s was made outside the file-system seam", sub, name)
			}
			m := d.remember(n, func(data []byte) any {
				tok, ok := pcToken(data)
				return tokenMemo{tok, ok, len(data)}
			}).(tokenMemo)
			if !m.ok {
				return nil, fmt.Errorf("%s/%s survives with %d octets, not a whole message (its contents were not synced)", sub, name, m.size)
			}
			tok := m.tok
			base, info, _ := splitName(name)
			out[base] = pcFile{name: sub + "/" + name, n: n, token: tok, info: normInfo(info)}
		}
	}
	return out, nil
}

// check checks the in-memory picture of what survives.
func (e *pcExpect) check(d *durable, dirs map[string]string) error {
	present := map[string]map[int]bool{}
	for _, f := range pcFolders {
		key := pcFolderKey(f.addr, f.name)
		dir := dirs[key]
		files, err := survivors(d, dir)
		if err != nil {
			return fmt.Errorf("%s: %w", key, err)
		}
		byToken := map[int]pcFile{}
		present[key] = map[int]bool{}
		for _, pf := range files {
			byToken[pf.token] = pf
			present[key][pf.token] = true
		}
		for tok, allowed := range e.required[key] {
			pf, ok := byToken[tok]
			if !ok {
				return fmt.Errorf("%s: acknowledged message %d did not survive", key, tok)
			}
			if !allowed[pf.info] {
				return fmt.Errorf("%s: message %d survives as %s, flags %q; acknowledged: %v", key, tok, pf.name, pf.info, allowed)
			}
		}
		ul, err := parseUIDList(d.contentsOf(d.entries(dir)[uidlistName]))
		if err != nil {
			return fmt.Errorf("%s: surviving dovecot-uidlist: %w", key, err)
		}
		listed := map[uint32]string{}
		for _, rec := range ul.recs {
			listed[rec.uid] = rec.base
		}
		for uid, base := range e.shown[key] {
			if listed[uid] != base {
				return fmt.Errorf("%s: UID %d was shown for %s; the surviving dovecot-uidlist has %q", key, uid, base, listed[uid])
			}
		}
	}
	for tok, m := range e.moving {
		if !present[m.from][tok] && !present[m.to][tok] {
			return fmt.Errorf("message %d, being moved from %s to %s, survives in neither", tok, m.from, m.to)
		}
	}
	return nil
}

// reopenCheck writes out what survives and checks it through a Store
// opened on it.
func reopenCheck(t *testing.T, d *durable, e *pcExpect, data, base string, dirs map[string]string) error {
	ctx := context.Background()
	cut := t.TempDir()
	if err := copyTree(base, cut); err != nil {
		return err
	}
	for _, dir := range dirs {
		rel, _ := filepath.Rel(data, dir)
		for _, sub := range []string{"new", "cur"} {
			to := filepath.Join(cut, rel, sub)
			os.RemoveAll(to)
			os.Mkdir(to, 0o700)
			ents := d.entries(filepath.Join(dir, sub))
			for name, n := range ents {
				if err := os.WriteFile(filepath.Join(to, name), d.contentsOf(n), 0o600); err != nil {
					return err
				}
			}
		}
		ul := d.contentsOf(d.entries(dir)[uidlistName])
		if err := os.WriteFile(filepath.Join(cut, rel, uidlistName), ul, 0o600); err != nil {
			return err
		}
	}
	s, err := Open(ctx, Options{DataDir: cut, Logger: testLogger(t), cheapHash: true, NoSync: true})
	if err != nil {
		return err
	}
	defer s.Close()
	for _, fl := range pcFolders {
		key := pcFolderKey(fl.addr, fl.name)
		acct, err := s.Account(ctx, fl.addr)
		if err != nil {
			return err
		}
		f, err := s.OpenFolder(ctx, acct, fl.name)
		if err != nil {
			return err
		}
		ms, err := f.Messages(ctx)
		if err != nil {
			return err
		}
		byToken := map[int]Message{}
		for _, m := range ms {
			rc, err := f.OpenMessage(ctx, m.UID)
			if err != nil {
				return err
			}
			body, _ := io.ReadAll(rc)
			rc.Close()
			tok, ok := pcToken(body)
			if !ok {
				return fmt.Errorf("%s: UID %d is not a whole message (%d octets)", key, m.UID, len(body))
			}
			byToken[tok] = m
		}
		for tok, allowed := range e.required[key] {
			m, ok := byToken[tok]
			if !ok {
				return fmt.Errorf("%s: acknowledged message %d is not there", key, tok)
			}
			if info := infoOf(m.Flags); !allowed[info] {
				return fmt.Errorf("%s: message %d has flags %v; acknowledged: %v", key, tok, m.Flags, allowed)
			}
		}
		files, err := survivors(d, dirs[key])
		if err != nil {
			return err
		}
		var maxShown uint32
		for uid, b := range e.shown[key] {
			maxShown = max(maxShown, uid)
			f.mb.mu.Lock()
			m := f.mb.byUID[uid]
			f.mb.mu.Unlock()
			_, survives := files[b]
			switch {
			case survives && m == nil:
				return fmt.Errorf("%s: UID %d was shown for %s, which survives; after the cut the UID is gone", key, uid, b)
			case survives && m.base != b:
				return fmt.Errorf("%s: UID %d was shown for %s; after the cut it names %s", key, uid, b, m.base)
			case !survives && m != nil:
				return fmt.Errorf("%s: UID %d was shown for %s, which is gone; after the cut it names %s", key, uid, b, m.base)
			}
		}
		got := deliver(t, s, "Subject: after\r\n\r\nx\r\n", acct, fl.name)
		if got[0].UID <= maxShown {
			return fmt.Errorf("%s: a delivery after the cut got UID %d, already shown (up to %d)", key, got[0].UID, maxShown)
		}
	}
	return nil
}

// copyTree copies the directory tree src into dst.
func copyTree(src, dst string) error {
	return filepath.Walk(src, func(path string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		to := filepath.Join(dst, rel)
		if info.IsDir() {
			return os.MkdirAll(to, 0o700)
		}
		if !info.Mode().IsRegular() {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(to, b, 0o600)
	})
}

// opsAround shows the log around op i.
func opsAround(ops []fsOp, i int) string {
	var b strings.Builder
	for j := max(0, i-12); j < min(len(ops), i+3); j++ {
		mark := "  "
		if j == i {
			mark = "=>"
		}
		fmt.Fprintf(&b, "%s %5d %v\n", mark, j, ops[j])
	}
	return b.String()
}
