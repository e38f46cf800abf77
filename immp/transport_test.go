package immp

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/immp-mail/immp/internal/throttle"
)

func TestLiterals(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.dial()
	// Synchronizing literals: "+" before each (draft 4.3).
	c.send("A LOGIN {17}")
	c.expect("+ Ready for literal data")
	c.send("alice@example.org {6}")
	c.expect("+ Ready for literal data")
	c.send("secret")
	c.expect("A OK LOGIN completed")
	// LITERAL+: no continuation.
	c.send("B CREATE {4+}\r\nwork")
	c.expect("B OK CREATE completed")
	c.send("C CREATE {0+}\r\n")
	c.expect("C NO [ALREADYEXISTS] INBOX always exists")
	// A literal name comes back as a literal.
	c.send("D CREATE {10+}\r\nb\xc3\xbcro/work")
	c.expect("D OK CREATE completed")
	c.send(`E LIST "work" "*"`)
	c.expect("* LIST (\\HasNoChildren) \"/\" {10}", "b\xc3\xbcro/work", "E OK LIST completed")
	// A quoted string with escapes.
	c.send(`F CREATE "a \"q\" \\ b/work"`)
	c.expect("F OK CREATE completed")
}

// TestPipelining: commands sent at once are executed and answered in
// order (draft 5.5).
func TestPipelining(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.dial()
	var lines, want []string
	lines = append(lines, "L LOGIN alice@example.org secret")
	want = append(want, "L OK LOGIN completed")
	for i := 0; i < 20; i++ {
		lines = append(lines, fmt.Sprintf("C%d CREATE p%d", i, i), fmt.Sprintf("N%d NOOP", i),
			fmt.Sprintf(`VERIFYSUBINBOX p%d alice@example.org`, i), fmt.Sprintf("X%d CREATE p%d", i, i))
		want = append(want, fmt.Sprintf("C%d OK CREATE completed", i), fmt.Sprintf("N%d OK NOOP completed", i),
			"OK VERIFYSUBINBOX completed", fmt.Sprintf("X%d NO [ALREADYEXISTS] Subinbox already exists", i))
	}
	lines = append(lines, `G LIST "" "p1*"`, "Z LOGOUT")
	want = append(want, `* LIST (\HasNoChildren) "/" p1`)
	for i := 10; i < 20; i++ {
		want = append(want, fmt.Sprintf(`* LIST (\HasNoChildren) "/" p%d`, i))
	}
	want = append(want, "G OK LIST completed", "* BYE IMMP Server logging out", "Z OK LOGOUT completed")
	c.send(strings.Join(lines, "\r\n"))
	c.expect(want...)
	if !c.closed() {
		t.Fatal("open after LOGOUT")
	}
}

// TestOversize: profile 1's limits, refused without reading into memory,
// the connection usable after, BYE for the third.
func TestOversize(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.dial()
	c.send("A CREATE " + strings.Repeat("x", 100<<10))
	c.expect("A BAD [LIMIT] Command line too long")
	c.send("B NOOP")
	c.expect("B OK NOOP completed")
	// Synchronizing literal over 64 KiB: no "+", BAD at once.
	c.send("C CREATE {65537}")
	c.expect("C BAD [LIMIT] Literal too large")
	c.send("D NOOP")
	c.expect("D OK NOOP completed")
	// At the limit is fine.
	c.login("alice")
	c.send("E CREATE {65536+}\r\n" + strings.Repeat("y", 65536))
	c.expect("E NO [CANNOT] Invalid name")
	// LITERAL+ over the limit: discarded as it streams, BAD, third: BYE.
	c.send("F CREATE {70000+}\r\n" + strings.Repeat("z", 70000) + " more")
	c.expect("F BAD [LIMIT] Literal too large", "* BYE Too many oversized commands")
	if !c.closed() {
		t.Fatal("open after BYE")
	}

	// An absurd LITERAL+ is not waited for.
	c2 := e.dial()
	c2.send("G CREATE {200000000+}")
	c2.expect("* BAD [LIMIT] Literal too large", "* BYE Too much data")
	if !c2.closed() {
		t.Fatal("open after BYE")
	}
	// An untagged VERIFY that is too long gets an untagged BAD.
	c3 := e.dial()
	c3.send("VERIFYSUBINBOX " + strings.Repeat("w", 9000) + " a@b")
	c3.expect("BAD [LIMIT] Command line too long")
}

func TestTooManyBadCommands(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.dial()
	for i := 0; i < maxBadInARow-1; i++ {
		c.send("X FROB")
		c.expect("X BAD Unknown command")
	}
	c.send("(")
	c.expect("* BAD Missing tag", "* BYE Too many invalid commands")
	if !c.closed() {
		t.Fatal("open after BYE")
	}
}

// TestAutologout: a logged-in session is logged out after IdleTimeout
// without a command (draft 5.4; shortened here).
func TestAutologout(t *testing.T) {
	t.Parallel()
	e := newEnvS(t, func(s *Server) { s.idle = 300 * time.Millisecond })
	c := e.dial()
	c.login("alice@example.org")
	c.send("A NOOP")
	c.expect("A OK NOOP completed")
	c.expect("* BYE Autologout; idle for too long")
	if !c.closed() {
		t.Fatal("open after autologout")
	}
}

// TestSlowCommand: a command trickled in one octet at a time (slowloris)
// is cut off by the command timer, long before the autologout, and the
// timer does not run between commands.
func TestSlowCommand(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(o *Options) { o.CommandTimeout = 400 * time.Millisecond })
	c := e.dial()
	c.send("A NOOP")
	c.expect("A OK NOOP completed")
	time.Sleep(600 * time.Millisecond) // idle between commands: fine
	c.send("B NOOP")
	c.expect("B OK NOOP completed")
	start := time.Now()
	go func() {
		for _, b := range []byte("C LOGIN alice@example.org secret\r\n") {
			if _, err := c.nc.Write([]byte{b}); err != nil {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
	}()
	c.expect("* BYE Command not completed in time")
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("cut off after %v, want about 400ms", d)
	}
	if !c.closed() {
		t.Fatal("open after BYE")
	}
}

// TestShutdown: in-flight commands finish, idle sessions get BYE, Serve
// returns ErrServerClosed, new connections are refused.
func TestShutdown(t *testing.T) {
	t.Parallel()
	// A throttled login is a real command that takes a while.
	lim := throttle.New(throttle.Options{Free: 1, Base: 600 * time.Millisecond})
	e := newEnv(t, func(o *Options) { o.Throttle = lim })
	busy := e.dial()
	busy.cmd("F LOGIN alice@example.org wrong")
	idle := e.dial()
	busy.send("G LOGIN alice@example.org secret")
	time.Sleep(150 * time.Millisecond) // G is waiting in the throttle
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := e.srv.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el < 300*time.Millisecond {
		t.Errorf("Shutdown returned after %v, before the in-flight command ended", el)
	}
	idle.expect("* BYE IMMP server shutting down")
	busy.expect("G OK LOGIN completed", "* BYE IMMP server shutting down")
	for i := 0; i < 2; i++ {
		if err := <-e.serveErr; !errors.Is(err, ErrServerClosed) {
			t.Fatalf("Serve: %v", err)
		}
	}
	if nc, err := net.DialTimeout("tcp", e.addr, time.Second); err == nil {
		nc.Close()
		t.Fatal("still accepting")
	}
}

func TestShutdownDeadline(t *testing.T) {
	t.Parallel()
	lim := throttle.New(throttle.Options{Free: 1, Base: 10 * time.Second, Max: 10 * time.Second})
	e := newEnv(t, func(o *Options) { o.Throttle = lim })
	c := e.dial()
	c.cmd("F LOGIN alice@example.org wrong")
	c.send("G LOGIN alice@example.org secret")
	time.Sleep(100 * time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	if err := e.srv.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Shutdown: %v", err)
	}
	if el := time.Since(start); el > 3*time.Second {
		t.Fatalf("Shutdown took %v", el)
	}
	if !c.closed() {
		t.Fatal("connection left open")
	}
}
