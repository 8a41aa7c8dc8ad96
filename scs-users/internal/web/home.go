package web

import (
	"log/slog"
	"net/http"
)

// home serves GET /users/.
func home(logger *slog.Logger) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		v := HomeView{Page: Page{Title: "Account", Section: "users"}}
		render(w, r, logger, http.StatusOK, homePage(v))
	}
}
