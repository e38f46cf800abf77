package main

import (
	"errors"

	"context"
	"log/slog"

	"github.com/immp-mail/immp/config"
	"github.com/immp-mail/immp/server"
)

func cmdServe(e cliEnv, args []string) int {
	fs := newFlags(e, "serve", "immp serve [-config FILE] [-data-dir DIR] [-addr-file PATH]")
	path := configFlag(e, fs)
	ci := addCIFlags(fs) // addrfile.go
	if code, done := parseFlags(e, fs, args); done {
		return code
	}
	if fs.NArg() != 0 {
		return e.usageError(fs, "serve takes no arguments (the file goes after -config)")
	}
	cfg, ok := loadConfig(e, *path)
	if !ok {
		return exitUsage
	}
	ci.apply(&cfg)
	log := newLogger(cfg.Log, e.stderr)
	if findConfig(e, *path).path == "" { // the built-in profile
		log.Warn("NO CONFIG FILE: running the built-in TEST-BED profile. Accounts are created " +
			"on first login (with whatever password is given) and on first delivery; loopback only. " +
			"Do not use this for real mail: see \"immp config example\".")
	} else if cfg.Accounts.AutoCreate {
		log.Warn("accounts.auto_create is on: accounts are created on first login or delivery; for test beds only")
	}
	if cfg.TLS.SelfSigned {
		cert, _ := cfg.SelfSignedPaths()
		log.Warn("using a self-signed certificate; clients will not trust it", "cert", cert)
	}
	for _, w := range cfg.Warnings() {
		log.Warn("config: "+w.Msg, "key", w.Key)
	}
	if len(cfg.Listeners()) == 0 {
		log.Warn("no listener is configured: nothing will be served")
	}

	d, err := startServe(e.ctx, cfg, log, e.reload)
	if err != nil {
		log.Error("startup failed", "err", err)
		e.errorf("serve: %v", err)
		var be *server.BindError
		if errors.As(err, &be) {
			return exitFail
		}
		var ce *config.Error
		if errors.As(err, &ce) {
			return exitUsage
		}
		return exitFail
	}
	if err := ci.writeAddrFile(d); err != nil {
		d.Close()
		e.errorf("serve: -addr-file: %v", err)
		return exitFail
	}
	if cfg.Log.Format != "json" || isTerminal(e.stderr) {
		printBanner(e.stderr, cfg, d, configName(e, *path))
	}
	if err := d.Run(e.ctx); err != nil {
		e.errorf("serve: %v", err)
		return exitFail
	}
	return exitOK
}

// startDaemon starts the whole server as serve runs it (package server).
func startDaemon(ctx context.Context, cfg config.Config, log *slog.Logger) (*server.Server, error) {
	return startServe(ctx, cfg, log, nil)
}

// startServe is startDaemon with SIGHUP reloads (main's notifyReload).
func startServe(ctx context.Context, cfg config.Config, log *slog.Logger, reload <-chan struct{}) (*server.Server, error) {
	return server.Start(ctx, server.Options{Config: cfg, Logger: log, Version: versionString(), Reload: reload})
}

// configName is how the banner names the config in use.
func configName(e cliEnv, flagPath string) string {
	if p := findConfig(e, flagPath).path; p != "" {
		return p
	}
	return "none, the built-in test-bed profile"
}
