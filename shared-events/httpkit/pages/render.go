package pages

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
)

// Component is a view that renders itself, such as a templ.Component.
type Component interface {
	Render(ctx context.Context, w io.Writer) error
}

// Render writes c with status. It renders into a buffer first, so that a
// failing component leads to a clean 500 instead of half a page.
func Render(w http.ResponseWriter, r *http.Request, logger *slog.Logger, status int, c Component) {
	var buf bytes.Buffer
	if err := c.Render(r.Context(), &buf); err != nil {
		logger.ErrorContext(r.Context(), "render page", "path", r.URL.Path, "err", err)
		http.Error(w, "Something went wrong on our side. Please try again.", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = buf.WriteTo(w)
}

// CrossOrigin refuses, with deny, a state-changing request (every page's POST)
// that a browser says comes from another site. origin is the public origin the
// browser sees (PUBLIC_URL's scheme and host), trusted whatever Host a proxy
// on the way sends: a front door that rewrites Host would otherwise turn every
// POST from a browser without Sec-Fetch-Site into a refusal.
//
// A malformed origin (configuration validates it first) is logged, and the
// protection refuses every cross-site request all the same.
func CrossOrigin(origin string, deny http.HandlerFunc, logger *slog.Logger) *http.CrossOriginProtection {
	c := http.NewCrossOriginProtection()
	c.SetDenyHandler(deny)
	if err := c.AddTrustedOrigin(origin); err != nil {
		logger.Error("trust the public origin", "origin", origin, "err", err)
	}
	return c
}

// Sent from another site: the words of the refusal every system shows.
const (
	CrossOriginTitle   = "Sent from another site"
	CrossOriginMessage = "This form was sent from a page that is not part of the platform, so it was not carried out."
)
