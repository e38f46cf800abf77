package main

import (
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/immp-mail/immp/config"
	"github.com/immp-mail/immp/server"
)

// bannerNames are the listeners as the banner names them.
func bannerName(key string) string {
	switch key {
	case "smtp.listen":
		return "smtp"
	case "submission.listen":
		return "submission"
	case "imap.listen":
		return "imap"
	case "imap.tls_listen":
		return "imaps"
	case "immp.listen":
		return "immp"
	case "immp.tls_listen":
		return "immps"
	case "http.listen":
		return "http"
	}
	return key
}

// printBanner writes what a person starting "immp serve" wants to see
// once: where it listens (the bound addresses, so port 0 shows the real
// port), where the mail is, how accounts come to be, and the HTTP URL.
// It is plain text on stderr whatever [log] format says, every line
// starting with "immp" or two spaces; with format = "json" and stderr not
// a terminal it is left out (the "immp ready" log line carries the same).
func printBanner(w io.Writer, cfg config.Config, d *server.Server, configName string) {
	var b strings.Builder
	fmt.Fprintf(&b, "immp %s serving %s as %s (config: %s)\n", versionString(),
		strings.Join(cfg.Domains, ", "), cfg.Hostname, configName)
	for _, l := range cfg.Listeners() {
		addr := d.Addr(l.Key)
		switch {
		case l.Key == "http.listen":
			fmt.Fprintf(&b, "  %-11s http://%s/  (/healthz, /readyz, /metrics)\n", "http", dialable(addr))
			if cfg.Testbed.Enabled || cfg.HTTP.APITokenFile != "" { // httpapi, webui
				fmt.Fprintf(&b, "  %-11s http://%s/  (HTTP API under /api/v1/)\n", "web UI", dialable(addr))
			}
		case strings.HasSuffix(l.Key, "tls_listen"):
			fmt.Fprintf(&b, "  %-11s %s  (implicit TLS)\n", bannerName(l.Key), addr)
		default:
			fmt.Fprintf(&b, "  %-11s %s\n", bannerName(l.Key), addr)
		}
	}
	data := cfg.DataDir
	if abs, err := filepath.Abs(data); err == nil {
		data = abs
	}
	fmt.Fprintf(&b, "  %-11s %s\n", "data", data)
	if cfg.Accounts.AutoCreate {
		fmt.Fprintf(&b, "  %-11s created on first login or delivery, with any password (test bed: accounts.auto_create)\n", "accounts")
	} else {
		fmt.Fprintf(&b, "  %-11s only those made with \"immp user add ADDRESS\" (run as this user)\n", "accounts")
	}
	io.WriteString(w, b.String())
}
