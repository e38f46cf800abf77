package smtp

import "testing"

func TestRemoteAddress(t *testing.T) {
	t.Parallel()
	for addr, want := range map[string]bool{
		"bob@remote.test":   true,
		"a.b@sub.remote.io": true,
		"x@[192.0.2.1]":     true,
		"@remote.test":      false,
		"bob@":              false,
		"bob":               false,
		"bob@remote..test":  false,
		"bob@.remote.test":  false,
		"bob@re mote.test":  false,
		"b ob@remote.test":  false,
		"bob@remote.test>":  false,
		"bob@[192.0.2.1":    false,
	} {
		if got := remoteAddress(addr); got != want {
			t.Errorf("remoteAddress(%q) = %v", addr, got)
		}
	}
}
