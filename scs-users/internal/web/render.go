package web

import (
	"bytes"
	"log/slog"
	"net/http"

	"github.com/a-h/templ"
)

// render writes c with status. It renders into a buffer first, so that a failing
// component leads to a clean 500 instead of half a page.
func render(w http.ResponseWriter, r *http.Request, logger *slog.Logger, status int, c templ.Component) {
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
