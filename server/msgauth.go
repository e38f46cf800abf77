package server

import (
	"log/slog"

	"github.com/immp-mail/immp/config"
	"github.com/immp-mail/immp/internal/resolver"
	"github.com/immp-mail/immp/msgauth"
	"github.com/immp-mail/immp/smtp"
)

// withChecks gives the Receiver-SMTP's options the inbound checks of
// [smtp] auth_checks, asking [outbound] resolver (msgauth).
func withChecks(o *smtp.Options, cfg *config.Config, log *slog.Logger) error {
	if !cfg.SMTP.AuthChecks {
		return nil
	}
	trusted, err := cfg.SMTPTrustedPrefixes()
	if err != nil {
		return err
	}
	c, err := msgauth.NewChecker(msgauth.CheckerOptions{
		Resolver:   resolver.New(cfg.Outbound.Resolver, 0),
		AuthservID: cfg.SMTP.AuthservID,
		Logger:     log.With("component", "msgauth"),
	})
	if err != nil {
		return err
	}
	o.Checks, o.TrustedNetworks = c, trusted
	// A message too large for memory waits in an unlinked file in the
	// data directory (private, and on disk rather than a tmpfs).
	o.SpoolDir = cfg.DataDir
	return nil
}
