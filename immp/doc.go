// Package immp is the IMMP server (draft-sabarish-immp-00, as fixed by the
// project's IMMP profile): subinbox management and spam guard management
// for logged-in users, and the two VERIFY queries a Receiver-SMTP asks.
//
// The codec lives in immp/wire; this package holds the connection loop,
// the four states (draft 3), the command handlers (one file per family)
// and the one place where errors become wire replies (errors.go). Every
// subinbox and spam guard operation is the mailbox layer's (maildir), so
// IMMP and IMAP see one set of folders and rules (draft 5.6); name and
// LIST rules are internal/foldername's; verdicts come from the spam guard
// (delivery/guard). Like every protocol package it points down only: to
// delivery, maildir and internal helpers, never to smtp or imap.
//
// # Connection rules
//
//   - Greeting "* OK [CAPABILITY ...] IMMP server ready" (profile 1).
//   - Commands are executed one after the other and answered in order;
//     replies are flushed when no further command is already buffered,
//     so a pipelining client gets its answers in few segments (draft 5.5).
//   - No command for IdleTimeout (at least 30 minutes, draft 5.4) after
//     a login ends the session with "* BYE Autologout"; before a login,
//     and in the anonymous state, PreauthTimeout (60 s) does (RFC 9051
//     5.4 puts the 30-minute minimum on the timer after authentication
//     only); a command not complete within
//     CommandTimeout (30 s) of its first octet, with "* BYE Command not
//     completed in time" (a client trickling octets, slowloris).
//   - Over-long lines and literals are answered BAD [LIMIT] and skipped
//     (see immp/wire); the third such command, or 20 BAD commands in a
//     row, ends the session with "* BYE".
//   - LOGIN and AUTHENTICATE PLAIN are refused with NO [PRIVACYREQUIRED]
//     (and LOGINDISABLED is advertised) on a cleartext connection from a
//     non-loopback peer unless AllowInsecureAuth (profile 1).
//   - Login failures all read "NO [AUTHENTICATIONFAILED] Invalid
//     credentials" and, per remote address and per account, are slowed
//     down by the throttle.Limiter before the credentials are checked
//     (draft 7). A login that cannot be checked now (the address's turn
//     or every password hashing slot taken) is NO [UNAVAILABLE], never a
//     failure.
//   - VERIFYINSPAMGUARDAGENT and VERIFYSUBINBOX are valid in every state,
//     tagged or not, and served only to peers in TrustedNetworks (default
//     loopback) or to a logged-in user asking about their own account;
//     anyone else gets NO [NOPERM] (profile 8).
//   - Commands not valid in the session's state are BAD (profile 2); an
//     anonymous session ("LOGIN anonymous <any>") may use CAPABILITY, NOOP,
//     LOGOUT and the VERIFY commands only, and cannot log in again.
//   - Accept failures for want of descriptors (EMFILE, ENFILE) are
//     retried with a pause of 5 ms doubling to 1 s (internal/netutil).
//     Past MaxConns connections on a listener a client gets "* BYE
//     [UNAVAILABLE] Too many connections, try again later", past
//     MaxConnsPerIP from its address "* BYE [LIMIT] Too many connections
//     from your address" (profile 2 codes), and is closed; on the
//     implicit-TLS port it is closed without a word.
//   - Shutdown stops accepting, lets commands in progress finish, says
//     "* BYE" to idle sessions and closes them; when its context ends first
//     it closes what is left.
//
// # Choices the draft and the profile leave open
//
//   - CAPABILITY depends on the state (RFC 9051): STARTTLS and AUTH=PLAIN
//     (or LOGINDISABLED) only before login.
//   - AUTHENTICATE with a mechanism other than PLAIN: NO (draft 6.2.1).
//     An authorization identity other than the user fails like a wrong
//     password.
//   - CREATE INBOX: NO [ALREADYEXISTS]; DELETE and REPLACE of INBOX:
//     NO [CANNOT]. Names that break profile 5's rules: NO [CANNOT].
//   - LIST is internal/foldername's ListSubinboxes, which the IMAP
//     fallback client applies too, so both answer every query alike:
//     names are matched case-insensitively; absolute form when the
//     reference is INBOX or begins with "INBOX/", or is empty and the
//     pattern's first component is INBOX ("INBOX*" too, "inboxes" not).
//     The pattern follows the reference as written (profile 6's
//     "reference + pattern"; IMAP LIST and Dovecot read them so too):
//     "INBOX/work/" "%" lists work's children, "INBOX/work" "%" work
//     itself. In
//     absolute form the reference's spelling is echoed as the prefix
//     (draft 6.3.6); in address form it is echoed as the suffix
//     ("office/Work" for LIST "Work" "%"). INBOX itself is listed only in
//     absolute form. Replies are sorted by the name sent. A reference
//     that cannot exist lists nothing (OK).
//   - SEARCHSPAMENTRY and SEARCHSPAMGUARDAGENT patterns use the spam
//     guard's matcher ("*", "?"), case-insensitive, whole string.
//   - Invalid spam entries (empty, over 320 octets, spaces or controls):
//     NO [CANNOT].
//   - VERIFY answers for addresses of domains not served here are
//     NO [NONEXISTENT] (trusted peers) or NO [NOPERM] (others).
//   - One log line per command, limited per connection and per address
//     (internal/logrl): past the budget lines are dropped and one "N
//     lines suppressed" line reports them.
package immp
