package immptest_test

import (
	"context"
	"fmt"

	"github.com/immp-mail/immp/immptest"
)

// A server outside a test (a TestMain, a dev tool): New and Close.
func ExampleNew() {
	srv, err := immptest.New(context.Background(), immptest.Options{})
	if err != nil {
		panic(err)
	}
	defer srv.Close()
	if err := immptest.SendMail(srv.SMTP, "app@shop.test", []string{"bob@example.com"},
		"From: app@shop.test\nTo: bob@example.com\nSubject: Welcome\n\nHello Bob\n"); err != nil {
		panic(err)
	}
	m, err := srv.Wait(context.Background(), immptest.Query{To: "bob@example.com", Subject: "Welcome"})
	if err != nil {
		panic(err)
	}
	fmt.Println(m.Account, m.Folder, m.Subject)
	// Output: bob@example.com INBOX Welcome
}
