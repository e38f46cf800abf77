package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"time"
)

func cmdHealthcheck(e cliEnv, args []string) int {
	fs := newFlags(e, "healthcheck", "immp healthcheck [-config FILE]")
	path := configFlag(e, fs)
	timeout := fs.Duration("timeout", 5*time.Second, "give up after this long")
	if code, done := parseFlags(e, fs, args); done {
		return code
	}
	if fs.NArg() != 0 {
		return e.usageError(fs, "healthcheck takes no arguments")
	}
	cfg, ok := loadConfig(e, *path)
	if !ok {
		return exitUsage
	}
	if cfg.HTTP.Listen == "" {
		e.errorf("healthcheck: http.listen is off in the config; nothing to ask")
		return exitUsage
	}
	url := "http://" + dialable(cfg.HTTP.Listen) + "/healthz"
	ctx, cancel := context.WithTimeout(e.ctx, *timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		e.errorf("healthcheck: %v", err)
		return exitFail
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.errorf("healthcheck: %v", err)
		return exitFail
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		e.errorf("healthcheck: %s answered %s", url, resp.Status)
		return exitFail
	}
	fmt.Fprintf(e.stdout, "ok %s\n", url)
	return exitOK
}

// dialable turns a listen address into one to connect to: a wildcard host
// becomes loopback.
func dialable(listen string) string {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return listen
	}
	switch host {
	case "", "0.0.0.0":
		host = "127.0.0.1"
	case "::":
		host = "::1"
	}
	return net.JoinHostPort(host, port)
}
