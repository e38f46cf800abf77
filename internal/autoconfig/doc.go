// Package autoconfig tells mail clients how to reach this server, built
// from the configured listeners, so that a user types an address and a
// password and nothing else:
//
//   - Thunderbird's autoconfig (clientConfig version 1.1, as described at
//     wiki.mozilla.org/Thunderbird:Autoconfiguration:ConfigFileFormat) at
//     /.well-known/autoconfig/mail/config-v1.1.xml and
//     /mail/config-v1.1.xml (the latter for http://autoconfig.DOMAIN/);
//   - Microsoft's Autodiscover "POX" for mail (the 2006 request schema and
//     the outlook/responseschema/2006a response) at
//     /autodiscover/autodiscover.xml, POST or GET;
//   - an Apple configuration profile with one com.apple.mail.managed
//     payload at /apple/profile.mobileconfig?email=ADDRESS.
//
// Every answer names the host name, the IMAP listeners (implicit TLS
// first, then STARTTLS) and the submission listener, with the full
// address as user name and a cleartext password over TLS. The MX port
// (25) is never offered: clients submit on the submission port. The
// builders are pure functions of Settings; Handler only parses requests.
//
// Invariants:
//   - Only addresses in the configured domains get an answer (404 for
//     others): the server never vouches for a domain it does not serve.
//   - A listener reached without TLS is offered as "plain" only when the
//     server has no certificate at all; with [tls], it is STARTTLS.
//   - Request bodies are read to at most MaxRequestBytes, and must be in
//     within RequestTimeout (408): TestSlowAutodiscoverBody.
//   - Apple profile UUIDs are derived from the address and host name, so
//     downloading it again replaces the installed profile, not adds one.
package autoconfig
