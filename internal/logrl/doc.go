// Package logrl rate-limits log lines per source, so that a client
// flooding a server with whatever makes it log (bad commands, refused
// recipients, failed logins) cannot fill the disk through the log.
//
// A Limiter is a token bucket: Burst lines at once, refilled at PerSecond
// lines per second. Wrap puts slog handler in front of another: a record
// is written only when every Limiter it draws on has a token (typically
// one for the connection and one shared by every connection from the
// same address, from an Addrs table); otherwise it is counted and dropped.
// The next record that passes is preceded by one summary record, "N lines
// suppressed" (level WARN, attribute suppressed=N), written through the
// same handler so it carries the connection's attributes; Flush writes
// that summary at the end of a connection if lines are still counted.
// Handlers derived with WithAttrs/WithGroup (slog.Logger.With) share the
// count and the limiters of the handler they come from.
//
// Invariants (tested): no more records pass than the budgets allow, plus
// at most one summary per passed record and one per Flush; every dropped
// record is counted in exactly one summary; an Addrs table never holds
// more than its bound, and a limiter it forgets had a full bucket, so
// forgetting never grants more than Burst.
//
// Used per connection by smtp, imap and immp.
package logrl
