// Package web is scs-users's HTTP surface: its pages under /users/ and the
// operational endpoints at the root of its port.
package web

import (
	"embed"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/scs-platform/shared-events/health"
)

//go:embed static
var static embed.FS

// Deps is what the routes need from the running system.
type Deps struct {
	Logger *slog.Logger
	// Ready answers GET /readyz (see health.Ready).
	Ready http.Handler
	// Metrics answers GET /metrics (see health.Metrics).
	Metrics http.Handler
	// Durations observes every request.
	Durations *health.RequestDurations
	// Feed serves the outbox to other systems (see feed.Handler).
	Feed http.Handler
}

// RoutePattern names the route a request matched, for the request metrics. It
// joins chi's patterns itself because chi's RoutePattern drops a trailing slash,
// which would count "/users" (a redirect) and "/users/" (the page) as one route.
func RoutePattern(r *http.Request) string {
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

// Routes is the whole URL surface of scs-users.
func Routes(d Deps) http.Handler {
	assets, _ := fs.Sub(static, "static")
	// Every state change is a POST and must come from our own origin.
	crossOrigin := http.NewCrossOriginProtection()

	r := chi.NewRouter()
	r.Use(d.Durations.Middleware)

	// Operations, at the root of the port. The front door does not route them.
	r.Method(http.MethodGet, "/healthz", health.Live())
	r.Method(http.MethodGet, "/readyz", d.Ready)
	r.Method(http.MethodGet, "/metrics", d.Metrics)

	// Pages, under /users/ even when reached directly, so the front door never
	// rewrites paths.
	r.Get("/users", redirect("/users/"))
	r.Group(func(r chi.Router) {
		r.Use(crossOrigin.Handler)

		// Start page
		r.Get("/users/", home(d.Logger))

		// Assets
		r.Handle("/users/static/*", http.StripPrefix("/users/static/", http.FileServerFS(assets)))
	})

	// Machine to machine: the event history for consumers that start with an
	// empty replica. It checks its own bearer tokens. It lives under the prefix so
	// that another system can reach it through the front door's routing, but an
	// operator should not expose /users/internal/ to the internet.
	r.Method(http.MethodGet, "/users/internal/events/feed", d.Feed)
	return r
}

func redirect(to string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, to, http.StatusMovedPermanently)
	}
}
