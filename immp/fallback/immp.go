package fallback

import (
	"context"

	"immp/immp/client"
)

// dialIMMP opens and authenticates the IMMP connection.
func dialIMMP(ctx context.Context, opts Options) (client.SubinboxManager, error) {
	return client.Dial(ctx, client.Options{Addr: opts.IMMPAddr, User: opts.User, Password: opts.Password, TLS: opts.TLS})
}
