// Package web is scs-users's HTTP surface: its pages under /users/ and the
// operational endpoints at the root of its port.
package web

import (
	"embed"
	"io/fs"
	"log/slog"
	"net/http"
	"net/netip"

	"github.com/go-chi/chi/v5"

	"github.com/scs-platform/shared-events/httpkit/pages"
	"github.com/scs-platform/shared-events/httpkit/routing"
	"github.com/scs-platform/shared-events/identity/authn"
	"github.com/scs-platform/shared-events/runtime/health"

	"github.com/scs-platform/scs-users/internal/accounts"
	"github.com/scs-platform/scs-users/internal/moderation"
	"github.com/scs-platform/scs-users/internal/signing"
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

	Accounts   *accounts.Service
	Moderation *moderation.Service
	Keys       *signing.Keyring
	Cookies    Cookies
	// TrustedProxies are the front door's addresses (see clientIP).
	TrustedProxies []netip.Prefix
}

// Routes is the whole URL surface of scs-users.
func Routes(d Deps) http.Handler {
	assets, _ := fs.Sub(static, "static")
	h := &handlers{
		logger:         d.Logger,
		accounts:       d.Accounts,
		moderation:     d.Moderation,
		keys:           d.Keys,
		parser:         &authn.Parser{Keys: d.Keys, Audience: d.Cookies.Audience},
		cookies:        d.Cookies,
		trustedProxies: d.TrustedProxies,
	}
	// Every state change is a POST and must come from our own origin.
	crossOrigin := pages.CrossOrigin(d.Cookies.Audience, h.crossSite, d.Logger)

	// Operations at the root of the port (the front door does not route them),
	// then the pages under /users/, even when reached directly.
	r := routing.NewRouter(routing.Operations{Ready: d.Ready, Metrics: d.Metrics, Durations: d.Durations})
	routing.Prefix(r, "/users", assets)
	r.Group(func(r chi.Router) {
		r.Use(pages.SecurityHeaders, pages.TextOnly(h.notText), crossOrigin.Handler, h.withSession)
		r.NotFound(h.notFound)
		r.MethodNotAllowed(routing.WithAllow(h.methodNotAllowed))

		// Start page
		r.Get("/users/", h.home)

		// Sign up, log in, log out; the other systems' refresh of a token
		r.Get("/users/signup", h.signUpForm)
		r.Post("/users/signup", h.signUp)
		r.Get("/users/login", h.logInForm)
		r.Post("/users/login", h.logIn)
		r.Post("/users/logout", h.logOut)
		r.Get("/users/session/refresh", h.refresh)

		// The account
		r.Group(func(r chi.Router) {
			r.Use(h.requireLogin)
			r.Get("/users/account", h.account)
			r.Post("/users/account/name", h.rename)
			r.Post("/users/account/password", h.changePassword)
			r.Post("/users/account/sessions/revoke-others", h.revokeOtherSessions)
			r.Post("/users/account/sessions/{id}/revoke", h.revokeSession)
			r.Get("/users/account/delete", h.deleteAccountForm)
			r.Post("/users/account/delete", h.deleteAccount)
		})

		// Admin
		r.Group(func(r chi.Router) {
			r.Use(h.requireLogin, h.requireAdmin)
			r.Get("/users/admin", redirect("/users/admin/users"))
			r.Get("/users/admin/", redirect("/users/admin/users"))
			r.Get("/users/admin/users", h.findUsers)
			r.Get("/users/admin/users/{id}", h.adminUser)
			r.Post("/users/admin/users/{id}/ban", h.banUser)
			r.Post("/users/admin/users/{id}/unban", h.unbanUser)
			r.Post("/users/admin/users/{id}/role", h.setRole)
			r.Get("/users/admin/reports", h.reports)
			r.Post("/users/admin/reports/{id}/dismiss", h.dismissReport)
			r.Post("/users/admin/reports/{id}/ban", h.banReported)
		})
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
