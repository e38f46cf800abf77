package maildir

import (
	"context"
	"time"
)

// Account lifecycle: a deleted account's sessions end and its folders'
// states are dropped, whether it was deleted by this process or by
// another (the CLI's "immp user del" while the server runs). Account IDs
// are never reused (AddAccount), so an account added again under the
// same address starts with new, empty state: nothing cached for the old
// one can be reached through it.

// goneCheck is how often the store looks for accounts deleted by another
// process while some session waits on AccountGone.
const goneCheck = time.Second

// AccountGone returns a channel closed when acct is deleted. Sessions
// wait on it to end themselves (IMAP BYE, IMMP connection closed).
func (s *Store) AccountGone(acct Account) <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.gone == nil {
		s.gone = make(map[int64]chan struct{})
	}
	ch := s.gone[acct.ID]
	if ch == nil {
		ch = make(chan struct{})
		s.gone[acct.ID] = ch
	}
	if !s.goneWatching && !s.closed {
		s.goneWatching = true
		s.bg.Add(1)
		go s.watchDeletions()
	}
	return ch
}

// accountDeleted drops everything the process holds for a deleted
// account and tells its sessions.
func (s *Store) accountDeleted(acct Account) {
	s.dropAccountBoxes(acct)
	s.forgetUsage(acct.ID)
	s.mu.Lock()
	ch := s.gone[acct.ID]
	delete(s.gone, acct.ID)
	s.mu.Unlock()
	if ch != nil {
		close(ch)
	}
}

// watchDeletions notices accounts deleted by another process: whenever
// the guard version moves (every change to the accounts bumps it), the
// accounts that sessions wait on are looked up again.
func (s *Store) watchDeletions() {
	defer s.bg.Done()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var seen int64
	t := time.NewTicker(goneCheck)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
		}
		v, err := s.GuardVersion(ctx)
		if err != nil || v == seen {
			continue
		}
		seen = v
		s.mu.Lock()
		ids := make([]int64, 0, len(s.gone))
		for id := range s.gone {
			ids = append(ids, id)
		}
		s.mu.Unlock()
		for _, id := range ids {
			var n int
			err := s.rdb.QueryRowContext(ctx, "SELECT count(*) FROM accounts WHERE id = ?", id).Scan(&n)
			if err == nil && n == 0 {
				s.log.Info("account deleted by another process: its sessions end", "account_id", id)
				s.accountDeleted(Account{ID: id})
			}
		}
	}
}
