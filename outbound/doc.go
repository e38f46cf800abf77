// Package outbound is immp's mail transfer to other domains: a durable
// queue on disk and the runner that delivers from it, to each recipient
// domain's MX hosts or through a smarthost ([outbound] relay).
//
// # Queue
//
// Enqueue writes one queue file per message and returns only once it is
// durable: the file is written in full and fsynced, then its directory is
// fsynced. The SMTP server answers 250 after that, so an acknowledged
// message survives a crash (kill -9: integration/outbound_crash_test.go;
// power loss: TestAcknowledgedSurvivesPowerCut, through the file-system
// seam of fsys.go). Each recipient has a
// state (queued, sent, failed) kept in a state file rewritten after every
// attempt. A crash may repeat an attempt, so a recipient may receive a
// message twice; it never loses one (RFC 5321 4.5.4, 6.1).
//
// On-disk layout, under <data_dir>/queue:
//
//	msg/ID      envelope (one JSON line: id, sender, recipients, created,
//	            utf8, size) then the message as it will be sent
//	            (DKIM-Signature and Received prepended)
//	state/ID    per-recipient state (JSON), absent before the first attempt
//	ctl/        requests of "immp queue flush|delete" to the running server
//	mta-sts/DOMAIN  cached MTA-STS policy (JSON), kept until it expires
//	lock        flock held by the running server
//
// Invariants:
//   - A message file is complete (its size matches the envelope's) or it
//     was never acknowledged: load removes an incomplete one.
//   - A recipient is marked failed only after its bounce is itself
//     durable in the queue (or delivered); a message from the null sender
//     (a bounce) never causes a bounce (RFC 5321 4.5.5, RFC 3464 2.1).
//   - A state file lost or torn in a crash only makes recipients queued
//     again (a duplicate, never a loss); it is therefore not fsynced.
//   - A finished message's files are removed, queue file first.
//
// # Delivery
//
// Recipients are grouped per destination (a recipient domain, or the
// relay); one transaction carries all of a message's recipients at one
// destination. Each destination has at most MaxConnsPerDest connections,
// and all together at most MaxConns; a connection is reused for up to
// MessagesPerConn messages. A destination that refuses one more
// connection while others to it work gets fewer for a while (the
// message waits for the open ones, not for a retry). MX hosts are tried in preference order; a
// domain without MX records is its own implicit MX via its A/AAAA records
// (RFC 5321 5.1); a null MX (RFC 7505) fails at once with 5.1.10. A 5xx
// reply fails the recipient for good; a 4xx reply or a connection
// failure defers it, after RetryInitial, doubling up to 4h, until MaxAge
// (RFC 5321 4.5.4.1), when it fails as expired (4.4.7). A failed
// recipient's sender gets a DSN (RFC 3464 multipart/report, RFC 6522):
// filed into the sender's INBOX when the sender is local (Local), else
// queued to the sender's domain. With DelayWarning, a recipient still
// deferred after that long gets its sender one "delayed" DSN (RFC 3464
// 2.3.3).
//
// TLS (RFC 3207): "opportunistic" uses STARTTLS when offered without
// checking the certificate (RFC 7435), and falls back to cleartext when
// the handshake fails; "required" never sends in clear (the recipient is
// deferred); "verify" also needs a certificate valid for the MX host's
// name from a trusted CA (Postfix's level of that name); "off" never
// starts TLS. A domain's MTA-STS policy (RFC 8461)
// in enforce mode overrides both: only MX hosts the policy lists, over
// TLS with a certificate valid for the MX name. Policies are cached for
// their max_age, on disk too, so a restart does not forget one. The smarthost gets a password (AUTH PLAIN or LOGIN, RFC
// 4954) only over TLS whose certificate is valid for its name: STARTTLS,
// or implicit TLS on port 465 (RFC 8314).
//
// The client is go-smtp's, with PIPELINING (RFC 2920) when offered,
// SIZE (RFC 1870: a message over the limit fails at once), 8BITMIME (RFC
// 6152) and SMTPUTF8 (RFC 6531) when the message needs it.
//
// Every attempt logs one line per recipient in Postfix's words:
//
//	ID: to=<rcpt>, relay=host[ip]:port, delay=12.3, delays=0.4, dsn=2.0.0, status=sent (250 ...)
//
// where delay is the time since the message was queued and delays the
// time of this attempt.
package outbound
