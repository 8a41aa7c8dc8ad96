// Package web is scs-chat's HTTP surface: its pages under /chat/ and the
// operational endpoints at the root of its port.
package web

import (
	"context"
	"embed"
	"io/fs"
	"log/slog"
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/scs-platform/shared-events/httpkit/pages"
	"github.com/scs-platform/shared-events/httpkit/routing"
	"github.com/scs-platform/shared-events/identity/authn"
	"github.com/scs-platform/shared-events/identity/usersreplica"
	"github.com/scs-platform/shared-events/runtime/health"

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

// Routes is the whole URL surface of scs-chat.
func Routes(d Deps) http.Handler {
	assets, _ := fs.Sub(static, "static")
	h := &handlers{logger: d.Logger, chat: d.Chat, users: d.Users, hub: d.Hub, shutdown: d.Shutdown}
	gate := &authn.Gate{Verifier: d.Verifier, Cookie: d.Cookie, Home: "/chat/", Lagging: h.lagging, Unavailable: h.gateUnavailable}
	// Every state change is a POST and must come from our own origin.
	crossOrigin := pages.CrossOrigin(d.Origin, h.crossSite, d.Logger)

	// Operations at the root of the port (the front door does not route them),
	// then the pages under /chat/, even when reached directly.
	r := routing.NewRouter(routing.Operations{Ready: d.Ready, Metrics: d.Metrics, Durations: d.Durations})
	routing.Prefix(r, "/chat", assets)
	r.Group(func(r chi.Router) {
		r.Use(pages.SecurityHeaders, pages.TextOnly(h.notText), crossOrigin.Handler, gate.Require)
		r.NotFound(h.notFound)
		r.MethodNotAllowed(routing.WithAllow(h.methodNotAllowed))

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
