package maildir

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"time"
)

// Storage quota.
//
// An account's usage is the sum of the sizes (RFC822.SIZE, CRLF line
// ends: Message.Size) of every message in every folder of the account,
// \Deleted or not, until expunged. A message delivered to several
// accounts, or copied within one, counts in full in each place, whether
// or not the files share their blocks through a hard link: the quota is
// what the user stores, not what the disk spends.
//
// The limit is the account's own (accounts.quota, set with SetQuota) or,
// when it has none (NULL), Options.DefaultQuota; 0 is unlimited.
// Admission: a message of n octets may enter an account whose usage is
// u under a limit L when u + max(n, 1) <= L, so an account at or over its
// limit takes nothing. Delivery, Append and Copy are checked (a delivery
// as a whole: one recipient over its quota fails it for all, since one
// SMTP reply answers them all); Move never (it adds to the account what
// it takes away), nor Expunge and folder deletion, so a user over quota
// can always make room. The check and the commit are not atomic:
// concurrent deliveries to one account may overshoot by what they carry
// together. An unlimited account costs no usage count at all.
//
// The usage is kept current in memory: each folder state's total is
// recounted after a scan of the disk and an expunge (both walk the
// folder's messages already) and increased by each batch it publishes;
// the account's total is the sum over its folder states. The first time
// an account's usage is asked for, and again when it was last counted
// more than usageRecheck ago, every folder of the account is brought up
// to date (four stat calls for a folder unchanged on disk), so messages
// added or removed by another program (Dovecot, a second immp process)
// are counted within that time.

// QuotaDefault, given to SetQuota, makes the account follow the
// configured default again.
const QuotaDefault int64 = -1

// usageRecheck is how long an account's total is trusted without
// looking at every one of its folders on disk.
const usageRecheck = time.Minute

// quotaState is the Store's usage totals (a leaf lock: taken under a
// folder's lock, never the reverse) and its cache of limits.
type quotaState struct {
	mu    sync.Mutex
	accts map[int64]*acctUsage

	limitMu      sync.Mutex
	limitVersion int64           // GuardVersion the limits were read under
	limits       map[int64]int64 // account ID -> own limit, QuotaDefault for NULL
}

type acctUsage struct {
	used    int64              // sum of boxes
	boxes   map[*mailbox]int64 // each folder state's total
	counted time.Time          // every folder last brought up to date
	loading sync.Mutex         // one count from disk at a time
}

// Usage is an account's storage use and limit, in octets.
type Usage struct {
	Used  int64
	Limit int64 // 0: unlimited
	Own   bool  // the account's own limit, not the configured default
}

// ErrOverQuota (api.go) is wrapped with the figures by admit.

// acct returns id's totals (made on first use); q.mu held.
func (q *quotaState) acct(id int64) *acctUsage {
	if q.accts == nil {
		q.accts = make(map[int64]*acctUsage)
	}
	u := q.accts[id]
	if u == nil {
		u = &acctUsage{boxes: make(map[*mailbox]int64)}
		q.accts[id] = u
	}
	return u
}

// setBox records a folder state's total.
func (q *quotaState) setBox(mb *mailbox, total int64) {
	q.mu.Lock()
	u := q.acct(mb.acct.ID)
	u.used += total - u.boxes[mb]
	u.boxes[mb] = total
	q.mu.Unlock()
}

// recountLocked (mb.mu held) sets the folder's total from its messages:
// after a scan and after an expunge.
func (mb *mailbox) recountLocked() {
	if mb.deleted {
		return
	}
	var n int64
	for _, m := range mb.msgs {
		n += max(m.vsize, 0)
	}
	mb.s.quota.setBox(mb, n)
}

// countPublishedLocked (mb.mu held) adds the messages a batch published
// (their EventNew) to the folder's total.
func (mb *mailbox) countPublishedLocked(evs []Event) {
	if mb.deleted {
		return
	}
	var n int64
	for _, e := range evs {
		if e.Kind == EventNew {
			n += e.Size
		}
	}
	if n == 0 {
		return
	}
	q := &mb.s.quota
	q.mu.Lock()
	u := q.acct(mb.acct.ID)
	u.boxes[mb] += n
	u.used += n
	q.mu.Unlock()
}

// uncountLocked (mb.mu held, mb.deleted set) takes a deleted folder's
// messages out of its account's total.
func (mb *mailbox) uncountLocked() {
	q := &mb.s.quota
	q.mu.Lock()
	if u := q.accts[mb.acct.ID]; u != nil {
		u.used -= u.boxes[mb]
		delete(u.boxes, mb)
	}
	q.mu.Unlock()
}

// forgetUsage drops a deleted account's totals (IDs are never reused).
func (s *Store) forgetUsage(id int64) {
	s.quota.mu.Lock()
	delete(s.quota.accts, id)
	s.quota.mu.Unlock()
}

// register adds a new folder state to its account's (s.mu held: box).
func (q *quotaState) register(mb *mailbox) {
	q.mu.Lock()
	u := q.acct(mb.acct.ID)
	if _, ok := u.boxes[mb]; !ok {
		u.boxes[mb] = 0
	}
	q.mu.Unlock()
}

// used returns the account's total, counting every folder from disk first
// when that was not done within usageRecheck. Read-your-writes, as for
// every read of the layer: what was acknowledged before the call (a
// delivery's Commit) is counted, as the folders are settled first, and a
// folder whose state was made but not yet read (a delivery target) is
// read.
func (s *Store) used(ctx context.Context, acct Account) (int64, error) {
	s.quota.mu.Lock()
	u := s.quota.acct(acct.ID)
	fresh := time.Since(u.counted) < usageRecheck
	s.quota.mu.Unlock()
	if !fresh {
		if err := s.countFolders(ctx, acct, u); err != nil {
			return 0, err
		}
	}
	s.quota.mu.Lock()
	boxes := make([]*mailbox, 0, len(u.boxes))
	for mb := range u.boxes {
		boxes = append(boxes, mb)
	}
	s.quota.mu.Unlock()
	for _, mb := range boxes {
		mb.settle()
		mb.mu.Lock()
		unread := !mb.loaded && !mb.deleted
		mb.mu.Unlock()
		if unread {
			if err := mb.refresh(ctx); err != nil && !errors.Is(err, ErrNonexistent) {
				return 0, fmt.Errorf("maildir: count usage: %w", err)
			}
		}
	}
	s.quota.mu.Lock()
	defer s.quota.mu.Unlock()
	return u.used, nil
}

// countFolders brings every folder of the account up to date; each
// folder state's total follows (recountLocked after its scan).
func (s *Store) countFolders(ctx context.Context, acct Account, u *acctUsage) error {
	u.loading.Lock()
	defer u.loading.Unlock()
	s.quota.mu.Lock()
	fresh := time.Since(u.counted) < usageRecheck
	s.quota.mu.Unlock()
	if fresh {
		return nil // counted while we waited
	}
	start := time.Now()
	folders, err := s.Folders(ctx, acct)
	if err != nil {
		return err
	}
	for _, f := range folders {
		err := s.box(acct, f.Name).refresh(ctx)
		if err != nil && !errors.Is(err, ErrNonexistent) { // deleted meanwhile: nothing to count
			return fmt.Errorf("maildir: count usage of %s: %w", f.Name, err)
		}
	}
	s.quota.mu.Lock()
	u.counted = start
	s.quota.mu.Unlock()
	return nil
}

// Usage returns the account's storage use and its limit.
func (s *Store) Usage(ctx context.Context, acct Account) (Usage, error) {
	limit, own, err := s.quotaLimit(ctx, acct)
	if err != nil {
		return Usage{}, err
	}
	used, err := s.used(ctx, acct)
	if err != nil {
		return Usage{}, err
	}
	return Usage{Used: used, Limit: limit, Own: own}, nil
}

// CheckQuota says whether a message of size octets may enter the account
// now: nil, or ErrOverQuota wrapped with the figures. Size 0 asks whether
// the account is at or over its limit already (SMTP RCPT without SIZE).
func (s *Store) CheckQuota(ctx context.Context, acct Account, size int64) error {
	limit, _, err := s.quotaLimit(ctx, acct)
	if err != nil || limit <= 0 {
		return err
	}
	used, err := s.used(ctx, acct)
	if err != nil {
		return err
	}
	if used+max(size, 1) > limit {
		return fmt.Errorf("%w: %s stores %d of %d octets; %d more do not fit", ErrOverQuota, acct.Address, used, limit, size)
	}
	return nil
}

// admitDelivery checks every recipient account of a delivery of size
// octets (Delivery.Commit): one over its quota fails the delivery.
func (s *Store) admitDelivery(ctx context.Context, rcpts []rcpt, size int64) error {
	seen := make(map[int64]bool, len(rcpts))
	for _, r := range rcpts {
		if seen[r.acct.ID] {
			continue
		}
		seen[r.acct.ID] = true
		if err := s.CheckQuota(ctx, r.acct, size); err != nil {
			return err
		}
	}
	return nil
}

// admitCopy checks that copies of the messages uids of mb fit in its
// account (Folder.Copy; a copy stays within the account).
func (s *Store) admitCopy(ctx context.Context, mb *mailbox, uids []uint32) error {
	limit, _, err := s.quotaLimit(ctx, mb.acct)
	if err != nil || limit <= 0 {
		return err
	}
	if err := mb.refresh(ctx); err != nil {
		return err
	}
	var size int64
	mb.mu.Lock()
	for _, uid := range uids {
		if m := mb.byUID[uid]; m != nil {
			size += max(m.vsize, 0)
		}
	}
	mb.mu.Unlock()
	if size == 0 {
		return nil // nothing to copy
	}
	return s.CheckQuota(ctx, mb.acct, size)
}

// quotaLimit returns the account's limit (0: unlimited) and whether it
// is the account's own. Limits are cached under the GuardVersion, which
// SetQuota moves, so another process's change is seen at once.
func (s *Store) quotaLimit(ctx context.Context, acct Account) (int64, bool, error) {
	own, err := s.ownLimit(ctx, acct)
	if err != nil {
		return 0, false, err
	}
	if own == QuotaDefault {
		return max(s.opts.DefaultQuota, 0), false, nil
	}
	return own, true, nil
}

func (s *Store) ownLimit(ctx context.Context, acct Account) (int64, error) {
	ver, verr := s.GuardVersion(ctx)
	q := &s.quota
	if verr == nil {
		q.limitMu.Lock()
		if q.limitVersion == ver && q.limits != nil {
			if l, ok := q.limits[acct.ID]; ok {
				q.limitMu.Unlock()
				return l, nil
			}
		}
		q.limitMu.Unlock()
	}
	var l sql.NullInt64
	err := s.rdb.QueryRowContext(ctx, "SELECT quota FROM accounts WHERE id = ?", acct.ID).Scan(&l)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("%w: %s", ErrNoSuchAccount, acct.Address)
	}
	if err != nil {
		return 0, dbErr("read quota", err)
	}
	own := QuotaDefault
	if l.Valid {
		own = l.Int64
	}
	if verr == nil {
		q.limitMu.Lock()
		if q.limitVersion != ver || q.limits == nil || len(q.limits) >= accountCacheMax {
			if ver >= q.limitVersion {
				q.limitVersion, q.limits = ver, make(map[int64]int64)
			}
		}
		if q.limitVersion == ver {
			q.limits[acct.ID] = own
		}
		q.limitMu.Unlock()
	}
	return own, nil
}

// SetQuota sets the account's own limit in octets (0: unlimited), or
// with QuotaDefault makes it follow the configured default again.
func (s *Store) SetQuota(ctx context.Context, address string, limit int64) error {
	if limit < QuotaDefault {
		return fmt.Errorf("maildir: invalid quota %d", limit)
	}
	addr, err := CanonicalAddress(address)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrNoSuchAccount, err)
	}
	var v any = limit
	if limit == QuotaDefault {
		v = nil
	}
	tx, err := s.wdb.BeginTx(ctx, nil)
	if err != nil {
		return dbErr("begin", err)
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, "UPDATE accounts SET quota = ? WHERE address = ?", v, addr)
	if err != nil {
		return dbErr("set quota", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("%w: %s", ErrNoSuchAccount, addr)
	}
	// Every process caches limits under the guard version: move it.
	if err := bumpGuard(ctx, tx); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return dbErr("commit", err)
	}
	s.guardLocal.Add(1)
	return nil
}
