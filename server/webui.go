package server

import (
	"net/http"

	"github.com/immp-mail/immp/webui"
)

// mountUI adds the web interface at / (package webui) wherever the API
// it uses is on: the test-bed profile or a bearer token. Elsewhere / stays
// 404, as before.
func (d *Server) mountUI(mux *http.ServeMux) {
	if d.api != nil && d.api.Enabled() {
		mux.Handle("/", webui.New()) // any method: the handler answers 405 itself
	}
}
