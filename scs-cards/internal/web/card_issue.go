package web

import (
	"net/http"
)

// issueCard answers POST /cards/cards: a new virtual card.
func (h *handlers) issueCard(w http.ResponseWriter, r *http.Request) {
	if !h.parseForm(w, r) {
		return
	}
	if _, err := h.cards.IssueVirtualCard(r.Context(), user(r).UserID); err != nil {
		h.failed(w, r, "issue a card", err)
		return
	}
	http.Redirect(w, r, "/cards/?done=issued", http.StatusSeeOther)
}
