package web

import (
	"net/http"

	"github.com/go-chi/chi/v5"
)

// pay answers POST /cards/statements/{id}/pay: it pays what is outstanding on the statement.
func (h *handlers) pay(w http.ResponseWriter, r *http.Request) {
	if !h.parseForm(w, r) {
		return
	}
	if _, err := h.ledger.Pay(r.Context(), user(r).UserID, chi.URLParam(r, "id")); err != nil {
		h.failed(w, r, "pay a statement", err)
		return
	}
	http.Redirect(w, r, "/cards/?done=paid", http.StatusSeeOther)
}
