package web

import (
	"errors"
	"net/http"

	"github.com/go-chi/chi/v5"
	"github.com/scs-platform/scs-cards/internal/cards"
	"github.com/scs-platform/scs-cards/internal/ledger"
)

var changeDone = map[string]string{cards.Freeze: "frozen", cards.Unfreeze: "unfrozen", cards.Cancel: "cancelled"}

// changeCard answers POST /cards/cards/{id}/freeze, /unfreeze and /cancel.
func (h *handlers) changeCard(w http.ResponseWriter, r *http.Request) {
	if !h.parseForm(w, r) {
		return
	}
	id, change := chi.URLParam(r, "id"), chi.URLParam(r, "change")
	err := h.cards.ChangeCard(r.Context(), user(r).UserID, id, change, r.PostFormValue("reason"))
	if ue, ok := errors.AsType[*ledger.UserError](err); ok && ue.Field == "reason" {
		h.cardPage(w, r, http.StatusUnprocessableEntity, ue.Message)
		return
	}
	if err != nil {
		h.failed(w, r, "change a card", err)
		return
	}
	to := "/cards/?done=" + changeDone[change]
	if change == cards.Cancel {
		to = "/cards/cards/" + id + "?done=cancelled"
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
}
