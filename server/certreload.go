package server

import (
	"crypto/tls"
	"log/slog"
	"os"
	"sync"
	"time"
)

// certReloader serves the certificate from files and picks up a renewed
// one (certbot and friends replace the files) without a restart: on a
// handshake it looks at the files' modification times at most once per
// checkEvery and reloads when they changed. A renewal that cannot be
// loaded (say, cert written but key not yet) keeps the old certificate
// and is retried at the next check.
type certReloader struct {
	certFile, keyFile string
	checkEvery        time.Duration
	log               *slog.Logger

	mu      sync.Mutex
	cert    *tls.Certificate
	modTime time.Time // latest of the two files' mtimes when loaded
	checked time.Time
}

func newCertReloader(certFile, keyFile string, log *slog.Logger) (*certReloader, error) {
	r := &certReloader{certFile: certFile, keyFile: keyFile, checkEvery: 30 * time.Second, log: log}
	mt, err := r.mtime()
	if err != nil {
		return nil, err
	}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, err
	}
	r.cert, r.modTime, r.checked = &cert, mt, time.Now()
	return r, nil
}

func (r *certReloader) mtime() (time.Time, error) {
	var latest time.Time
	for _, f := range []string{r.certFile, r.keyFile} {
		fi, err := os.Stat(f)
		if err != nil {
			return time.Time{}, err
		}
		if fi.ModTime().After(latest) {
			latest = fi.ModTime()
		}
	}
	return latest, nil
}

// getCertificate is tls.Config.GetCertificate.
func (r *certReloader) getCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if time.Since(r.checked) >= r.checkEvery {
		r.reloadLocked()
	}
	return r.cert, nil
}

// current is the pair served now, the files read again if due.
func (r *certReloader) current() *tls.Certificate {
	c, _ := r.getCertificate(nil)
	return c
}

// reloadNow loads the files whatever their times (SIGHUP: a copy that
// kept the old mtime is picked up too).
func (r *certReloader) reloadNow() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.checked = time.Now()
	mt, _ := r.mtime()
	cert, err := tls.LoadX509KeyPair(r.certFile, r.keyFile)
	if err != nil {
		r.log.Warn("SIGHUP: certificate cannot be loaded; keeping the old one", "cert", r.certFile, "err", err)
		return
	}
	r.cert, r.modTime = &cert, mt
	r.log.Info("SIGHUP: certificate reloaded", "cert", r.certFile)
}

func (r *certReloader) reloadLocked() {
	r.checked = time.Now()
	mt, err := r.mtime()
	if err != nil || mt.Equal(r.modTime) {
		return
	}
	cert, err := tls.LoadX509KeyPair(r.certFile, r.keyFile)
	if err != nil {
		r.log.Warn("certificate files changed but cannot be loaded; keeping the old one", "cert", r.certFile, "err", err)
		return
	}
	r.cert, r.modTime = &cert, mt
	r.log.Info("certificate reloaded", "cert", r.certFile)
}
