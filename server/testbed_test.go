package server

import "testing"

func TestLoopback(t *testing.T) {
	for addr, want := range map[string]bool{
		"127.0.0.1:3880": true, "[::1]:80": true, "localhost:1": true, "127.1.2.3:0": true,
		"0.0.0.0:3880": false, ":3880": false, "[::]:1": false, "192.168.1.2:80": false, "bad": false,
	} {
		if got := loopback(addr); got != want {
			t.Errorf("loopback(%q) = %v", addr, got)
		}
	}
}
