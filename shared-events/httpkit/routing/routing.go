// Package routing is the chi plumbing below every system's routes: the same
// operational endpoints at the root of the port, the route a request matched
// (for the request metrics), the Allow header of a 405 and the redirect of a
// system's bare prefix. What a system serves, and how its pages look, stays in
// its own web package.
package routing

import (
	"io/fs"
	"net/http"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/scs-platform/shared-events/httpkit/pages"
	"github.com/scs-platform/shared-events/runtime/health"
)

// Operations are the endpoints every system serves at the root of its port,
// which the front door does not route.
type Operations struct {
	// Ready answers GET /readyz (see health.Ready).
	Ready http.Handler
	// Metrics answers GET /metrics (see health.Metrics).
	Metrics http.Handler
	// Durations observes every request.
	Durations *health.RequestDurations
}

// NewRouter is a router that observes every request and serves the
// operational endpoints; the system adds its own routes under its prefix.
func NewRouter(ops Operations) *chi.Mux {
	r := chi.NewRouter()
	r.Use(ops.Durations.Middleware)
	r.Method(http.MethodGet, "/healthz", health.Live())
	r.Method(http.MethodGet, "/readyz", ops.Ready)
	r.Method(http.MethodGet, "/metrics", ops.Metrics)
	return r
}

// Prefix serves a system's bare prefix ("/chat") as a permanent redirect to
// its page ("/chat/"), and under prefix+"/static/" the platform's assets
// (pages.Assets: site.css) and the system's own. A system serves its pages
// under its prefix even when reached directly, so that the front door never
// rewrites paths.
func Prefix(r chi.Router, prefix string, assets fs.FS) {
	r.Get(prefix, func(w http.ResponseWriter, req *http.Request) {
		http.Redirect(w, req, prefix+"/", http.StatusMovedPermanently)
	})
	static := prefix + "/static/"
	platform := http.StripPrefix(static, pages.StaticFiles(pages.Assets()))
	shared, _ := fs.ReadDir(pages.Assets(), ".")
	for _, f := range shared {
		// chi prefers a route without a wildcard: the platform's copy wins.
		r.Handle(static+f.Name(), platform)
	}
	r.Handle(static+"*", http.StripPrefix(static, pages.StaticFiles(assets)))
}

// Pattern names the route a request matched, for the request metrics. It
// joins chi's patterns itself because chi's RoutePattern drops a trailing
// slash, which would count "/cards" (a redirect) and "/cards/" (the page) as
// one route.
func Pattern(r *http.Request) string {
	rc := chi.RouteContext(r.Context())
	if rc == nil {
		return ""
	}
	p := strings.Join(rc.RoutePatterns, "")
	for strings.Contains(p, "/*/") {
		p = strings.ReplaceAll(p, "/*/", "/")
	}
	return p
}

// WithAllow sets the Allow header that a 405 must carry (RFC 9110, section
// 15.5.6) before answering with h: chi leaves it out once the router has a
// handler of its own for 405s.
func WithAllow(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", AllowedMethods(r))
		h(w, r)
	}
}

// AllowedMethods lists the methods that the request's path answers.
func AllowedMethods(r *http.Request) string {
	rc := chi.RouteContext(r.Context())
	if rc == nil || rc.Routes == nil {
		return ""
	}
	var allowed []string
	for _, m := range []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
		if rc.Routes.Match(chi.NewRouteContext(), m, r.URL.Path) {
			allowed = append(allowed, m)
		}
	}
	return strings.Join(allowed, ", ")
}
