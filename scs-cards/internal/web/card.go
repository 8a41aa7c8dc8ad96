package web

import (
	"net/http"

	"github.com/go-chi/chi/v5"
	"github.com/scs-platform/shared-events/httpkit/pages"
)

// card is a card's own page: its art, its history, and its cancellation.
func (h *handlers) card(w http.ResponseWriter, r *http.Request) {
	h.cardPage(w, r, http.StatusOK, "")
}

func (h *handlers) cardPage(w http.ResponseWriter, r *http.Request, status int, reasonError string) {
	id := chi.URLParam(r, "id")
	c, err := h.cards.Card(r.Context(), user(r).UserID, id)
	if err != nil {
		h.failed(w, r, "card", err)
		return
	}
	changes, err := h.cards.CardChanges(r.Context(), user(r).UserID, id)
	if err != nil {
		h.failed(w, r, "card", err)
		return
	}
	pages.Render(w, r, h.logger, status, cardPage(CardView{
		Page: page(r, "Card ending in "+c.Last4), Card: c, Changes: changes,
		Reason: r.PostFormValue("reason"), ReasonError: reasonError,
	}))
}
