package api

import (
	"net/http"
	"strings"
)

// The two requests every network boot makes, GET /ipxe?mac= and
// GET /manifest/{node}, skip ServeMux: API.ServeHTTP asks the mux for the
// handler and then lets it serve (two pattern matches), which costs a
// visible share of these small answers. fastRoute serves them directly
// when the path is plain (no escapes, no dot segments, nothing the mux
// would clean or redirect), setting what the mux would set: the matched
// pattern (Request.Pattern, the metrics' route label) and the {node} path
// value. Everything else, and any path in doubt, goes through the mux. The
// middleware around API (limits, request log, metrics) is the same for
// both ways.

// Patterns the fast path stands in for; routes() registers the same.
const (
	patternIPXE     = "GET /ipxe"
	patternManifest = "GET /manifest/{node}"
)

// fastRoute serves r if it is one of the boot requests; it reports
// whether it did.
func (a *API) fastRoute(w http.ResponseWriter, r *http.Request) bool {
	if r.Method != http.MethodGet || r.URL.RawPath != "" {
		return false
	}
	p := r.URL.Path
	switch {
	case p == "/ipxe":
		r.Pattern = patternIPXE
		a.ipxeRoute.ServeHTTP(w, r)
		return true
	case strings.HasPrefix(p, "/manifest/"):
		node := p[len("/manifest/"):]
		if node == "" || node == "." || node == ".." || strings.ContainsAny(node, "/%") {
			return false
		}
		r.Pattern = patternManifest
		r.SetPathValue("node", node)
		a.manifestRoute.ServeHTTP(w, r)
		return true
	}
	return false
}
