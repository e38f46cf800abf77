package resolver

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"
)

// TestQueriesGoToTheNamedServer: a resolver built with an address asks
// that server and no other; a server that answers nothing makes the
// lookup fail instead of falling back to the system's resolver.
func TestQueriesGoToTheNamedServer(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	got := make(chan int, 16)
	go func() {
		buf := make([]byte, 1500)
		for {
			n, _, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			got <- n
		}
	}()
	r := New(pc.LocalAddr().String(), 200*time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_, err = r.LookupMX(ctx, "example.org")
	if err == nil {
		t.Fatal("a silent server answered")
	}
	select {
	case n := <-got:
		if n < 12 {
			t.Fatalf("query of %d octets is not DNS", n)
		}
	default:
		t.Fatalf("no query reached the named server (err %v)", err)
	}
	if strings.Contains(err.Error(), "no such host") {
		t.Errorf("error %v looks like an answer from another server", err)
	}
}

func TestEmptyIsTheSystemResolver(t *testing.T) {
	if New("", 0) != net.DefaultResolver {
		t.Error("empty address is not the system resolver")
	}
}
