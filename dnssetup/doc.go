// Package dnssetup derives the DNS records a self-hoster publishes for one
// mail domain from the configuration, and checks a live zone against them
// ("immp dns records" and "immp dns check").
//
// Records: MX to the hostname (RFC 5321 5.1), the hostname's addresses
// and their PTR, SPF "v=spf1 mx ~all" (RFC 7208), the DKIM key under
// [dkim] selector (RFC 6376 3.6; or the command that makes one), DMARC
// (RFC 7489 6.1), MTA-STS "_mta-sts" TXT and the mta-sts host serving the
// policy (RFC 8461 3), TLS-RPT "_smtp._tls" (RFC 8460 3), the client SRV
// records of RFC 6186 (_submission, _imap, _imaps; "0 0 0 ." for a
// service whose listener is off, 3.4) and the autoconfig/autodiscover
// names.
//
// Check asks one resolver (internal/resolver: [outbound] resolver or the
// system's), evaluates the published SPF record with the hostname's
// addresses as a receiver would, compares the DKIM key with the one in the
// data directory, and checks forward-confirmed reverse DNS (each address
// of the hostname has a PTR naming it). Statuses: OK, WARN (usable, with a
// remark, e.g. DMARC p=none), MISSING, WRONG. Failed is true when a
// record is WRONG or a required one (MX, address, SPF, DKIM, DMARC,
// reverse DNS) is MISSING; recommended ones (MTA-STS, TLS-RPT, SRV,
// autoconfig) only warn when absent, but fail when present and wrong.
// Each problem comes with its fix: the zone line to publish, or who to ask.
//
// Invariant: a zone that publishes exactly what Records prints checks OK
// (TestCheckCorrectZone, and through the CLI TestDNSRecordsAndCheck), and
// breaking any one record is reported against that record
// (TestCheckNamesEachBreakage).
package dnssetup
