package fallback

import (
	"context"

	"github.com/immp-mail/immp/immp/client"
)

// dialIMMP opens and authenticates the IMMP connection.
func dialIMMP(ctx context.Context, opts Options) (client.SubinboxManager, error) {
	return client.Dial(ctx, opts.IMMPAddr, client.Options{
		TLS: opts.TLS, StartTLS: opts.StartTLS, User: opts.User, Password: opts.Password,
	})
}
