// Package web is scs-chat's HTTP surface: its pages under /chat/ and the
// operational endpoints at the root of its port.
package web

import (
	"context"
	"embed"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/scs-platform/shared-events/authn"
	"github.com/scs-platform/shared-events/health"
	"github.com/scs-platform/shared-events/pages"
	"github.com/scs-platform/shared-events/usersreplica"

	"github.com/scs-platform/scs-chat/internal/chat"
	"github.com/scs-platform/scs-chat/internal/live"
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

	Chat *chat.Service
	Hub  *live.Hub
	// Users is the users replica: display names.
	Users usersreplica.Store
	// Verifier checks the session token against the users replica.
	Verifier *authn.Verifier
	// Cookie is the session cookie's name; Origin the public origin
	// (PUBLIC_URL's scheme and host), which forms and websockets come from.
	Cookie string
	Origin string
	// Shutdown ends when the system stops; the websockets close with it.
	Shutdown context.Context
}

// RoutePattern names the route a request matched, for the request metrics. It
// joins chi's patterns itself because chi's RoutePattern drops a trailing slash,
// which would count "/chat" (a redirect) and "/chat/" (the page) as one route.
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

// Routes is the whole URL surface of scs-chat.
func Routes(d Deps) http.Handler {
	assets, _ := fs.Sub(static, "static")
	h := &handlers{logger: d.Logger, chat: d.Chat, users: d.Users, hub: d.Hub, shutdown: d.Shutdown}
	gate := &authn.Gate{Verifier: d.Verifier, Cookie: d.Cookie, Home: "/chat/", Lagging: h.lagging, Unavailable: h.gateUnavailable}
	// Every state change is a POST and must come from our own origin.
	crossOrigin := http.NewCrossOriginProtection()
	if err := crossOrigin.AddTrustedOrigin(d.Origin); err != nil {
		d.Logger.Error("trust the public origin", "origin", d.Origin, "err", err)
	}
	crossOrigin.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.errorPage(w, r, http.StatusForbidden, "Sent from another site",
			"This form was sent from a page that is not part of the platform, so it was not carried out.")
	}))

	r := chi.NewRouter()
	r.Use(d.Durations.Middleware)

	// Operations, at the root of the port. The front door does not route them.
	r.Method(http.MethodGet, "/healthz", health.Live())
	r.Method(http.MethodGet, "/readyz", d.Ready)
	r.Method(http.MethodGet, "/metrics", d.Metrics)

	// Pages, under /chat/ even when reached directly, so the front door never
	// rewrites paths.
	r.Get("/chat", redirect("/chat/"))
	r.Handle("/chat/static/*", http.StripPrefix("/chat/static/", pages.StaticFiles(assets)))
	r.Group(func(r chi.Router) {
		r.Use(pages.SecurityHeaders, pages.TextOnly(h.notText), crossOrigin.Handler, gate.Require)
		r.NotFound(h.notFound)
		r.MethodNotAllowed(h.methodNotAllowed)

		// Joining and waiting
		r.Get("/chat/", h.start)
		r.Post("/chat/join", h.join)
		r.Get("/chat/waiting", h.waiting)
		r.Post("/chat/waiting/stop", h.stopWaiting)

		// Conversations
		r.Get("/chat/conversations", h.conversations)
		r.Get("/chat/conversations/{id}", h.conversation)
		r.Post("/chat/conversations/{id}/messages", h.send)
		r.Post("/chat/conversations/{id}/leave", h.leave)
		r.Post("/chat/conversations/{id}/block", h.block)
		r.Post("/chat/conversations/{id}/report", h.report)

		// The live connection of the waiting and conversation pages
		r.Get("/chat/live", h.live)
	})
	return r
}

func redirect(to string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, to, http.StatusMovedPermanently)
	}
}
