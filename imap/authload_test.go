package imap

import (
	"bufio"
	"fmt"
	"net"
	"net/netip"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/immp-mail/immp/internal/throttle"
)

// argonMiB is the memory one argon2id verification holds (maildir's
// parameters: m=19456 KiB).
const argonMiB = 19

// TestLoginUnderGuessingLoad: 200 wrong-password logins at once against
// one account, over real IMAP connections with the production password
// cost and throttle defaults, while the account's owner logs in. Once from
// one address (its attempts queue for the address's turn) and once from
// 200 addresses (the account's delay and the hashing gate are what hold).
// The owner's usual client (cached password, trusted address) and a new
// device of the owner (cached password, new address: pays the account's
// delay, bounded by 2s), during the guesses and after them, get in within
// 3s; a login that needs argon2id for another account gets in or is told
// UNAVAILABLE within the gate's wait.
// Peak RSS stays within what the gate allows (see the bound below).
func TestLoginUnderGuessingLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("load test (skipped with -short)")
	}
	for _, spread := range []bool{false, true} {
		name := "one address"
		if spread {
			name = "200 addresses"
		}
		t.Run(name, func(t *testing.T) { guessingLoad(t, spread) })
	}
}

const guessers = 200

func guessingLoad(t *testing.T, spread bool) {
	lim := throttle.New(throttle.Options{}) // the daemon's defaults
	e := newEnv(t, envOptions{noSync: true, mutate: func(o *Options) {
		o.Throttle = lim
		o.MaxConnsPerIP = -1 // let all 200 reach LOGIN
	}})
	e.account("alice@example.org")
	e.account("bob@example.org")

	// The owner's usual client logged in before: password cached,
	// address trusted for the account.
	idle, res := rawLogin(e.addr, "127.0.0.2", "alice@example.org", testPassword)
	if res != "OK" {
		t.Fatalf("owner's first login: %s", res)
	}
	t.Logf("owner's first login on an idle server (argon2id): %v", idle.Round(time.Millisecond))

	// The guessers connect first (their connections count in the base),
	// then send their LOGIN together.
	conns := make([]*guessConn, guessers)
	for i := range conns {
		src := "127.0.0.1"
		if spread {
			src = fmt.Sprintf("127.0.1.%d", i+1)
		}
		c, err := dialRaw(e.addr, src)
		if err != nil {
			t.Fatal(err)
		}
		conns[i] = c
	}
	runtime.GC()
	debug.FreeOSMemory()
	resetHWM := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) == nil
	base := procStatusKiB(t, "VmRSS")
	var peakMu sync.Mutex
	peakRSS := base
	stopSampling := make(chan struct{})
	sampled := make(chan struct{})
	var stopOnce sync.Once
	stop := func() { stopOnce.Do(func() { close(stopSampling); <-sampled }) }
	defer stop()
	go func() {
		defer close(sampled)
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stopSampling:
				return
			case <-tick.C:
				if v := procStatusKiB(t, "VmRSS"); v > 0 {
					peakMu.Lock()
					peakRSS = max(peakRSS, v)
					peakMu.Unlock()
				}
			}
		}
	}()

	var wg sync.WaitGroup
	var mu sync.Mutex
	outcomes := map[string]int{}
	var slowest time.Duration
	start := time.Now()
	for i, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer c.Close()
			res := c.login("alice@example.org", "guess"+strconv.Itoa(i))
			mu.Lock()
			outcomes[res]++
			slowest = max(slowest, time.Since(start))
			mu.Unlock()
		}()
	}
	time.Sleep(100 * time.Millisecond) // the guesses are queued by now

	type legit struct {
		what, src, user string
		took            time.Duration
		res             string
	}
	owner := []*legit{
		{what: "owner's usual client", src: "127.0.0.2", user: "alice@example.org"},
		{what: "owner's new device", src: "127.0.0.3", user: "alice@example.org"},
		{what: "other account, needs argon2id", src: "127.0.0.4", user: "bob@example.org"},
	}
	var lwg sync.WaitGroup
	for _, l := range owner {
		lwg.Add(1)
		go func() {
			defer lwg.Done()
			l.took, l.res = rawLogin(e.addr, l.src, l.user, testPassword)
		}()
	}
	lwg.Wait()
	wg.Wait()
	// Once enough guesses have been counted against the account (more
	// from fresh addresses if the machine verified too few of the 200),
	// a new address pays the account's delay, bounded by AccountMax (2s).
	newDevice := netip.MustParseAddr("127.0.0.5")
	for i := 1; spread && lim.Delay(newDevice, "alice@example.org") < 2*time.Second && i < 40; i++ {
		if _, res := rawLogin(e.addr, fmt.Sprintf("127.0.2.%d", i), "alice@example.org", "more"); res != "NO [AUTHENTICATIONFAILED]" {
			t.Fatalf("extra guess: %s", res)
		}
	}
	accountDelay := lim.Delay(newDevice, "alice@example.org")
	after := &legit{what: "owner's new device, after the guesses", src: "127.0.0.5", user: "alice@example.org"}
	after.took, after.res = rawLogin(e.addr, after.src, after.user, testPassword)
	owner = append(owner, after)
	stop()
	peakMu.Lock()
	peak := peakRSS
	peakMu.Unlock()
	if resetHWM {
		peak = max(peak, procStatusKiB(t, "VmHWM"))
	}

	for _, l := range owner {
		t.Logf("%s: %s after %v", l.what, l.res, l.took.Round(time.Millisecond))
	}
	t.Logf("guesses: %v, the last answered after %v; account delay for a new address then: %v",
		outcomes, slowest.Round(time.Millisecond), accountDelay)
	t.Logf("RSS: %d MiB before, peak %d MiB (+%d MiB; HWM reset: %v); GOMAXPROCS %d",
		base>>10, peak>>10, (peak-base)>>10, resetHWM, runtime.GOMAXPROCS(0))

	for res, n := range outcomes {
		if res != "NO [AUTHENTICATIONFAILED]" && res != "NO [UNAVAILABLE]" {
			t.Errorf("%d guesses answered %q", n, res)
		}
	}
	if spread && accountDelay != 2*time.Second {
		t.Errorf("account delay for a new address %v, want the cap of 2s", accountDelay)
	}
	for _, l := range []*legit{owner[0], owner[1], owner[3]} {
		if l.res != "OK" || l.took >= 3*time.Second {
			t.Errorf("%s: %s after %v, want OK within 3s", l.what, l.res, l.took)
		}
	}
	// The gate's wait (2s) bounds the cold login, plus 2s for a loaded
	// machine (4s under the race detector, which slows hashing fourfold).
	coldMax := 4 * time.Second
	if raceBuild() {
		coldMax = 6 * time.Second
	}
	if cold := owner[2]; cold.took >= coldMax || cold.res != "OK" && (!spread || cold.res != "NO [UNAVAILABLE]") {
		t.Errorf("%s: %s after %v, want OK (or, under guesses from 200 addresses, NO [UNAVAILABLE]) within %v",
			cold.what, cold.res, cold.took, coldMax)
	}
	// Memory: the gate lets h = GOMAXPROCS-1 verifications (19 MiB each)
	// live at once on top of the base. The collector (GOGC=100) lets the
	// heap grow to twice what was live after the last cycle, h fresh
	// 19 MiB blocks can overshoot that goal before the next cycle starts,
	// and freed pages stay resident until the scavenger returns them. So
	// the peak stays under 2 x (base + h x 19 MiB) + h x 19 MiB, plus
	// 16 MiB of slack: with the base in RSS overstating the base heap,
	// 2 x base + 3 x h x 19 MiB + 16 MiB. Without the gate 200 guesses
	// held 3.8 GiB. The race detector's shadow memory makes RSS
	// meaningless there: the figure is only reported.
	hashers := max(1, runtime.GOMAXPROCS(0)-1) // maildir's default
	limit := 2*base + int64(3*hashers*argonMiB+16)<<10
	if peak > limit && !raceBuild() {
		t.Errorf("peak RSS %d MiB, want at most %d MiB", peak>>10, limit>>10)
	}
}

// raceBuild reports whether the test binary runs under the race detector.
func raceBuild() bool {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "-race" {
				return s.Value == "true"
			}
		}
	}
	return false
}

// guessConn is a bare IMAP connection from a chosen loopback address.
type guessConn struct {
	nc net.Conn
	r  *bufio.Reader
}

func dialRaw(addr, src string) (*guessConn, error) {
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: 10 * time.Second}
	nc, err := d.Dial("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("dial from %s: %w", src, err)
	}
	nc.SetDeadline(time.Now().Add(60 * time.Second))
	c := &guessConn{nc: nc, r: bufio.NewReader(nc)}
	if l, err := c.r.ReadString('\n'); err != nil || !strings.HasPrefix(l, "* OK") {
		nc.Close()
		return nil, fmt.Errorf("greeting %q: %v", l, err)
	}
	return c, nil
}

func (c *guessConn) Close() { c.nc.Close() }

// login sends LOGIN and returns the tagged status with its code, e.g.
// "OK", "NO [AUTHENTICATIONFAILED]".
func (c *guessConn) login(user, pass string) string {
	if _, err := fmt.Fprintf(c.nc, "L LOGIN %s %q\r\n", user, pass); err != nil {
		return "write: " + err.Error()
	}
	for {
		l, err := c.r.ReadString('\n')
		if err != nil {
			return "read: " + err.Error()
		}
		if rest, ok := strings.CutPrefix(l, "L "); ok {
			status, text, _ := strings.Cut(strings.TrimSpace(rest), " ")
			if status == "OK" {
				return status
			}
			if strings.HasPrefix(text, "[") {
				code, _, _ := strings.Cut(text, "]")
				return status + " " + code + "]"
			}
			return status
		}
	}
}

// rawLogin connects from src and logs in, timing the LOGIN command alone.
func rawLogin(addr, src, user, pass string) (time.Duration, string) {
	c, err := dialRaw(addr, src)
	if err != nil {
		return 0, err.Error()
	}
	defer c.Close()
	start := time.Now()
	res := c.login(user, pass)
	return time.Since(start), res
}

// procStatusKiB reads a field of /proc/self/status in KiB (0 when there
// is no such file, as off Linux).
func procStatusKiB(t *testing.T, field string) int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			v, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			if err != nil {
				t.Fatalf("%s: %q", field, line)
			}
			return v
		}
	}
	return 0
}
