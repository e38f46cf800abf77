package immp

import (
	"testing"
)

// Deleting an account ends its IMMP sessions: the connection is closed
// (maildir.Store.AccountGone); a session of another account goes on.
func TestAccountDeletionClosesSessions(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.account("alice@" + testDomain)
	e.account("bob@" + testDomain)
	alice, bob := e.dial(), e.dial()
	alice.login("alice@" + testDomain)
	bob.login("bob@" + testDomain)
	if err := e.store.DeleteAccount(e.ctx, "alice@"+testDomain); err != nil {
		t.Fatal(err)
	}
	if !alice.closed() {
		t.Fatal("the deleted account's session is still open")
	}
	bob.ok("N1 NOOP")
}
