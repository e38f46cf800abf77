// Package smtp is the Receiver-SMTP (RFC 5321; draft 2.2.2, figure 1) and
// the submission service (RFC 6409 semantics) on go-smtp, delivering
// through package delivery.
//
// Receiver: MAIL accepts any reverse-path, the null sender <> included.
// Each RCPT is checked at once (profile 9): relay attempts, unknown
// accounts and senders blocked by the recipient's spam guard are refused
// per recipient, so one refusal does not fail the others. An unknown
// account (550 5.1.1) and a guard block (550 5.7.1) differ only in the
// enhanced code the profile gives them; a client that is not logged in
// is slowed down after repeated refusals and cut off with 421 (after
// Postfix's error limits; rcptlimit.go). After the data
// the message is filed durably for every accepted recipient and 250 is
// sent only after that commit returned. Extensions: SIZE (RFC 1870),
// 8BITMIME (RFC 6152), SMTPUTF8 (RFC 6531), PIPELINING (RFC 2920),
// CHUNKING/BDAT (RFC 3030), ENHANCEDSTATUSCODES (RFC 2034, 3463) and
// STARTTLS (RFC 3207) when a certificate is configured.
//
// Submission: AUTH PLAIN (RFC 4616) or LOGIN is required before MAIL; over
// cleartext only from loopback unless AllowInsecureAuth. Wrong credentials
// are 535 5.7.8, credentials that cannot be checked now (throttle turn,
// password hashing busy) 454 4.7.0 (RFC 4954 6; authReply). The envelope
// sender must belong to the authenticated account, and so must every
// address in the From, Sender, Resent-From and Resent-Sender fields (RFC
// 6409 8.1): "belong" is Deliverer.Owns, the account's address with any
// subinbox prefix or +detail (so a REPLACEd subinbox name too). The
// header section is read with a real RFC 5322 parser (go-message's
// textproto, net/mail's address lists), so obsolete syntax (RFC 5322 4.5:
// space before the colon, folding, comments, encoded words, groups) is
// read as a mail reader reads it; exactly one From and at most one Sender
// (RFC 5322 3.6); display names are free; anything unreadable is refused,
// never guessed: 550 5.7.1 naming the field and the problem. A message
// without a Date or a Message-ID gets one (RFC 6409 8.2, 8.3), ahead of
// its header, the Message-ID naming the transaction and Hostname; so does
// mail a trusted network's client relays (outbound.go). Local
// recipients are delivered as above; others are refused because outbound
// relay is not configured, or, with Options.Outbound set, queued there
// (outbound.go).
//
// Outbound: only a logged-in client or one in Options.RelayNetworks may
// name a recipient in another domain; everyone else gets the relay
// refusal (never an open relay). The message is queued durably for the
// remote recipients and filed for the local ones before the single 250
// ("Ok: queued as ID").
//
// Every refusal is a *smtp.SMTPError built in reply.go, the one place where
// delivery reasons become wire replies: go-smtp matches that type exactly
// and turns any other error into a 451 carrying Go error text. The 250
// after the data names the transaction id ("Ok: delivered as ID"), which
// the Received header and the log line carry too.
//
// Message data (RFC 5321 2.3.8, 4.1.1.4, 4.5.2): lines end with CRLF, the
// data ends only at CRLF "." CRLF, a leading dot is removed from every
// other line, and a bare CR or LF is an ordinary octet, stored as
// received (go-smtp is patched for the bare CR case: third_party/go-smtp
// PATCHES.md).
//
// Limits: MaxLineLength (default 1 MiB) bounds a line of message data;
// RFC 5321's 1000 octets is far exceeded by real mail, and message lines
// are streamed. Over it: 500 5.5.2, nothing stored, and the connection is
// closed after that one reply (the rest of the data cannot be told from
// commands). MaxCommandLength (default 8 KiB) bounds a command line,
// which is held whole: longer gets 500 5.4.0 and the connection is
// closed. A reverse- or forward-path over 256 octets (RFC 5321
// 4.5.3.1.3) gets 501 "Path too long" (5.1.7 for MAIL, 5.1.3 for RCPT)
// before go-smtp could echo it. A message over MaxMessageBytes
// gets 552 5.3.4, at MAIL when SIZE= says so, else when the limit is
// crossed in DATA or BDAT. Not provided: VRFY/EXPN (252/502, go-smtp),
// DSN, BINARYMIME, REQUIRETLS.
//
// Postmaster (RFC 5321 4.5.1): postmaster@ every served domain and a bare
// <Postmaster> (go-smtp is patched to parse it) are accepted and go to
// the postmaster route of package delivery, whatever accounts exist.
//
// Connection hygiene: a read timeout that runs from the last reply, so a
// command must be complete within it however slowly its octets trickle in
// (slowloris), and during DATA one renewed on every read (go-smtp's own
// ReadTimeout would bound a whole DATA transfer) but never past
// DataTimeout from the start of the data (default 10m, [smtp]
// data_timeout), so a client sending an octet now and then cannot hold a
// transaction for hours: 451 4.4.2 (421 4.4.2 for silence), and the
// connection is closed after that reply (a lingering close: what the
// client still sends is drained for a moment, so that the kernel does not
// answer it with a reset that could destroy the reply); a timeout is
// final. A write timeout; connection caps per listener (MaxConns) and
// per address (MaxConnsPerIP), a client over either answered "421 4.7.0
// ... try again later" and closed; accept failures for want of
// descriptors (EMFILE) retried with a pause of 5 ms doubling to 1 s
// (internal/netutil); and Shutdown that stops accepting, closes idle
// connections with 421 and lets a transaction in progress finish its data
// and commit.
//
// Mail authentication (msgauth.go, package msgauth): on the Receiver-SMTP
// with Options.Checks set, a client neither logged in nor in
// TrustedNetworks has SPF started at MAIL; at the end of DATA the message
// is spooled, DKIM and DMARC are checked, and delivery writes one
// Authentication-Results field (RFC 8601) first. A DMARC p=reject failure
// is 550 5.7.1 at the end of DATA; p=quarantine files into Junk. Every
// other session streams the message into the mailbox as before.
//
// One structured log line per transaction (txn, remote, from, each
// recipient with outcome and folder, size, dur_ms, outcome), and one
// "smtp rejected" line per refusal with its reason class, the envelope and
// the reply sent (reject.go; the keys and classes are docs/logging.md),
// including the limits go-smtp enforces itself (Server.OnReject in the
// patched copy); never message content nor passwords. What one client makes the server log is
// limited per connection and per address (logs.go, internal/logrl): past
// the budget lines are dropped and one "N lines suppressed" line reports
// them; the line of a delivered transaction is never dropped.
//
// Test bed (chaos.go): with Options.Chaos, each stage asks the fault
// rules (internal/chaos) first and answers the reply of a rule that
// fires: "connect" in place of the 220 greeting, then the connection is
// closed (RFC 5321 3.1; on an implicit-TLS listener at EHLO/HELO, after
// the handshake), MAIL, RCPT and DATA (the data is read and dropped). Guard verdicts and
// everything else run as usual when no rule fires.
package smtp
