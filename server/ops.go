package server

import (
	"net/http"
)

// opsHandler serves the operations endpoint (issue "Observability"):
// /healthz is 200 while the process serves (a liveness probe),
// /readyz is 200 once every listener is up and the store is open and
// until shutdown begins, /metrics is Prometheus text.
func (d *Server) opsHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		if d.stopping.Load() {
			http.Error(w, "stopping", http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		if !d.ready.Load() {
			http.Error(w, "not ready", http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte("ready\n"))
	})
	mux.Handle("GET /metrics", d.metrics.Handler())
	d.mountAPI(mux)     // /api/v1/ (httpapi, docs/api.md)
	d.mountUI(mux)      // / (webui)
	d.ops.mount(mux, d) // ACME HTTP-01, autoconfig, admin page (tlsops.go)
	return mux
}
