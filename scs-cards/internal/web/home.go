package web

import (
	"log/slog"
	"net/http"
)

// home serves GET /cards/.
func home(logger *slog.Logger) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		v := HomeView{Page: Page{Title: "Cards", Section: "cards"}}
		render(w, r, logger, http.StatusOK, homePage(v))
	}
}
