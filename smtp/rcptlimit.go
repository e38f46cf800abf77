package smtp

import (
	"time"

	"github.com/immp-mail/immp/internal/throttle"
)

// Recipient probing (profile 9 requires the refusals to tell an unknown
// account, 550 5.1.1, from a spam guard block, 550 5.7.1; nothing else
// tells them apart, see reasonReplies). A client that is not logged in
// and gets recipients refused is slowed down and then cut off, after
// Postfix's smtpd_soft_error_limit, smtpd_error_sleep_time and
// smtpd_hard_error_limit:
//
//   - every permanent RCPT refusal counts, whatever its reason, so the
//     delays and the cut-off tell no reason from another;
//   - past RcptFreeErrors refusals from one address (across its
//     sessions, for 15 minutes; an IPv6 /64 is one address), each RCPT
//     waits before it is answered: 1s, then doubling up to 5s;
//   - the MaxBadRecipients-th refusal in one session is answered 421
//     4.7.0 instead, and the connection is closed;
//   - a delivered message clears both counts, as Postfix counts errors
//     "without delivering mail".
//
// A logged-in submission client is not counted: its mistakes are its
// account's, and "no outbound relay" refusals would cut off a message
// with many foreign recipients.
const (
	DefaultMaxBadRecipients = 20 // smtpd_hard_error_limit
	DefaultRcptFreeErrors   = 10 // smtpd_soft_error_limit
	rcptErrorSleep          = time.Second
	rcptErrorSleepMax       = 5 * time.Second
)

// NewRcptLimiter is the per-address limiter for refused recipients that
// Server uses when Options.RcptThrottle is nil; servers that should
// share one (port 25 and submission) are given the same.
func NewRcptLimiter() *throttle.Limiter {
	return throttle.New(throttle.Options{Free: DefaultRcptFreeErrors, Base: rcptErrorSleep, Max: rcptErrorSleepMax})
}

// rcptCounted says whether this session's refused recipients count.
func (s *session) rcptCounted() bool { return !s.authOK }

// rcptWait is the delay before a RCPT is checked: the same whatever the
// answer will be. false: the server is shutting down.
func (s *session) rcptWait() bool {
	if !s.rcptCounted() {
		return true
	}
	return s.srv.rcptThrottle.Wait(s.srv.ctx, s.ip) == nil
}

// rcptRefused counts one permanent refusal; true when the session has
// reached its limit and must end.
func (s *session) rcptRefused() bool {
	if !s.rcptCounted() {
		return false
	}
	s.srv.rcptThrottle.Failure(s.ip, "")
	s.mu.Lock()
	s.badRcpts++
	over := s.badRcpts >= s.srv.opts.MaxBadRecipients
	s.mu.Unlock()
	return over
}

// rcptDelivered clears the counts after a delivered message.
func (s *session) rcptDelivered() {
	if !s.rcptCounted() {
		return
	}
	s.srv.rcptThrottle.Forgive(s.ip)
	s.mu.Lock()
	s.badRcpts = 0
	s.mu.Unlock()
}
