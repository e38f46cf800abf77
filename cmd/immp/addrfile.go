package main

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"

	"github.com/immp-mail/immp/config"
	"github.com/immp-mail/immp/server"
)

// serveCI holds serve's flags for CI and parallel test beds: where to
// write the bound addresses, and a data directory overriding data_dir.
type serveCI struct {
	addrFile, dataDir *string
}

func addCIFlags(fs *flag.FlagSet) serveCI {
	return serveCI{
		addrFile: fs.String("addr-file", "", "after binding, write the listeners' addresses to `PATH` as JSON\n"+
			"({\"smtp\": \"HOST:PORT\", ...}), so ports may be :0"),
		dataDir: fs.String("data-dir", "", "data `DIR`, overriding data_dir (e.g. on a tmpfs for CI)"),
	}
}

// apply puts -data-dir into cfg.
func (c serveCI) apply(cfg *config.Config) {
	if *c.dataDir != "" {
		cfg.DataDir = *c.dataDir
	}
}

// addrKeys are the addr-file's names of the listener keys.
var addrKeys = []struct{ name, key string }{
	{"smtp", "smtp.listen"}, {"submission", "submission.listen"},
	{"imap", "imap.listen"}, {"imaps", "imap.tls_listen"},
	{"immp", "immp.listen"}, {"immps", "immp.tls_listen"},
	{"http", "http.listen"},
}

// writeAddrFile writes every bound listener's address to path, whole or
// not at all: a temporary file in the same directory, synced, renamed
// over path (a reader never sees half of it).
func (c serveCI) writeAddrFile(d *server.Server) error {
	path := *c.addrFile
	if path == "" {
		return nil
	}
	m := map[string]string{}
	for _, k := range addrKeys {
		if a := d.Addr(k.key); a != "" {
			m[k.name] = a
		}
	}
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".addr-*.tmp")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(append(b, '\n')); err != nil {
		f.Close()
		return err
	}
	if err := f.Chmod(0o644); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}
