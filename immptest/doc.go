// Package immptest starts a complete immp mail server inside a Go test
// (or any Go program): Receiver-SMTP, submission, IMAP, IMAPS, IMMP and
// the HTTP API, on random loopback ports, over a data directory of its
// own, with the built-in test-bed profile (capture of all mail, accounts
// created on first use, the API open without a token). It is the server
// "immp serve" runs, started with server.Start, not a fake.
//
//	go get github.com/immp-mail/immp/immptest
//
//	func TestSignupMail(t *testing.T) {
//		srv := immptest.Start(t) // closed and removed when the test ends
//		app := myapp.New(myapp.Config{SMTP: srv.SMTP})
//		app.Signup("bob@example.com")
//		m := srv.WaitFor(t, immptest.Query{To: "bob@example.com", Subject: "Welcome"})
//		d := srv.Get(t, m.ID)
//		if !strings.Contains(d.Text, "/confirm?token=") { t.Fatal(d.Text) }
//	}
//
// Invariants: every listener is on 127.0.0.1 with a port the kernel
// chose, so tests run in parallel, each with its own server; Close stops
// the server (waits and event streams end), and removes the data
// directory it made; nothing is left behind (TestCloseRemovesEverything).
package immptest
