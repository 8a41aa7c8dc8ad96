// Package web is scs-cards' HTTP surface: its pages under /cards/, the
// merchant terminal's JSON API, the summary fragment that scs-users'
// account page transcludes, and the operational endpoints at the root of its
// port.
package web

import (
	"embed"
	"io/fs"
	"log/slog"
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/scs-platform/shared-events/httpkit/pages"
	"github.com/scs-platform/shared-events/httpkit/routing"
	"github.com/scs-platform/shared-events/identity/authn"
	"github.com/scs-platform/shared-events/runtime/health"

	"github.com/scs-platform/scs-cards/internal/cards"
	"github.com/scs-platform/scs-cards/internal/ledger"
	"github.com/scs-platform/scs-cards/internal/terminal"
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

	Ledger   *ledger.Service
	Cards    *cards.Service
	Terminal *terminal.Service
	// Verifier checks the session token against the users replica.
	Verifier *authn.Verifier
	// Cookie is the session cookie's name; Origin the public origin
	// (PUBLIC_URL's scheme and host), which forms come from.
	Cookie string
	Origin string
	// TerminalToken is the merchant terminal's bearer credential.
	TerminalToken string
}

// Routes is the whole URL surface of scs-cards.
func Routes(d Deps) http.Handler {
	assets, _ := fs.Sub(static, "static")
	h := &handlers{logger: d.Logger, ledger: d.Ledger, cards: d.Cards, merchant: d.Terminal, terminalToken: d.TerminalToken}
	gate := &authn.Gate{Verifier: d.Verifier, Cookie: d.Cookie, Home: "/cards/", Lagging: h.lagging, Unavailable: h.gateUnavailable}
	// Every state change of a page is a POST and must come from our own origin.
	crossOrigin := pages.CrossOrigin(d.Origin, h.crossSite, d.Logger)

	// Operations at the root of the port (the front door does not route them),
	// then the pages under /cards/, even when reached directly.
	r := routing.NewRouter(routing.Operations{Ready: d.Ready, Metrics: d.Metrics, Durations: d.Durations})
	routing.Prefix(r, "/cards", assets)

	// The merchant terminal's API: JSON, a bearer credential, no cookies (so no
	// cross-site forgery to guard against).
	r.Route("/cards/api/v1", func(r chi.Router) {
		r.Use(h.apiHeaders, h.terminalOnly)
		r.NotFound(h.apiNotFound)
		r.MethodNotAllowed(routing.WithAllow(h.apiMethodNotAllowed))
		r.Post("/authorisations", h.apiAuthorise)
		r.Post("/authorisations/{id}/capture", h.apiCapture)
		r.Post("/authorisations/{id}/void", h.apiVoid)
		r.Post("/forced-postings", h.apiForcedPosting)
	})

	// The summary that scs-users' account page transcludes: no layout, no
	// redirects (a script fetches it), versioned in its path.
	r.With(pages.SecurityHeaders).Get("/cards/fragments/summary/v1", h.summaryFragment(gate))

	r.Group(func(r chi.Router) {
		r.Use(pages.SecurityHeaders, pages.TextOnly(h.notText), crossOrigin.Handler, gate.Require)
		r.NotFound(h.notFound)
		r.MethodNotAllowed(routing.WithAllow(h.methodNotAllowed))

		// The account
		r.Get("/cards/", h.overview)
		r.Post("/cards/account", h.openAccount)

		// Cards
		r.Post("/cards/cards", h.issueCard)
		r.Get("/cards/cards/{id}", h.card)
		r.Post("/cards/cards/{id}/{change:freeze|unfreeze|cancel}", h.changeCard)

		// Statements
		r.Post("/cards/statements/{id}/pay", h.pay)

		// The admins' terminal page
		r.Get("/cards/terminal", h.terminal)
		r.Post("/cards/terminal/authorisations", h.terminalAuthorise)
		r.Post("/cards/terminal/authorisations/{id}/{action:capture|void}", h.terminalSettle)
	})
	return r
}
