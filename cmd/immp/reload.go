package main

import (
	"os"
	"os/signal"
	"syscall"
)

// notifyReload turns SIGHUP into reload requests for serve: certificate
// files and the admin password are read again without a restart. Signals
// that arrive while one is pending are merged into it.
func notifyReload() <-chan struct{} {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	reload := make(chan struct{}, 1)
	go func() {
		for range hup {
			select {
			case reload <- struct{}{}:
			default:
			}
		}
	}()
	return reload
}
