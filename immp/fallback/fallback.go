package fallback

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"syscall"

	"github.com/immp-mail/immp/immp/client"
)

// Options say where and as whom to connect.
type Options struct {
	IMMPAddr string // host:port of the IMMP server
	IMAPAddr string // host:port of the IMAP server, for the fallback
	User     string // the account's address
	Password string
	// TLS, when set, secures both connections: with StartTLS they connect
	// in cleartext and upgrade, without it TLS starts at once (the
	// implicit-TLS listeners). Nil means cleartext, which the servers
	// accept from loopback only.
	TLS      *tls.Config
	StartTLS bool
	// Logger, when set, gets one line when the fallback happens.
	Logger *slog.Logger
}

// Dial connects to the IMMP server; if that connection is refused, it logs
// in over IMAP instead and reports fellBack. Either way the result manages
// subinboxes with the same names and rules.
func Dial(ctx context.Context, opts Options) (m client.SubinboxManager, fellBack bool, err error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	m, err = dialIMMP(ctx, opts)
	if err == nil {
		return m, false, nil
	}
	if !errors.Is(err, syscall.ECONNREFUSED) || opts.IMAPAddr == "" {
		return nil, false, err
	}
	opts.Logger.Info("IMMP connection refused, falling back to IMAP", "immp", opts.IMMPAddr, "imap", opts.IMAPAddr)
	im, ierr := DialIMAP(ctx, opts.IMAPAddr, opts.User, opts.Password, opts.TLS, opts.StartTLS)
	if ierr != nil {
		return nil, true, fmt.Errorf("IMMP refused the connection (%v); IMAP fallback: %w", err, ierr)
	}
	return im, true, nil
}
