// Package layering holds no code: its test checks the direction of the
// project's imports, read from the source of every package of the module
// (test files aside).
//
//   - Storage and delivery sit at the bottom: maildir, delivery and their
//     subpackages import no protocol package (smtp, imap, immp and their
//     subpackages, cmd, integration).
//   - Protocol packages point down only: smtp, imap and immp do not
//     import one another.
//   - The fallback client (immp/fallback) speaks IMMP and IMAP as a
//     client: it imports neither the mailbox layer nor delivery nor a
//     server package.
//   - internal/foldername, the name and LIST rules every layer shares, is
//     a leaf: it imports no package of the module.
//
// Each rule is checked on the transitive imports, so a detour through a
// third package is caught too.
package layering
