package web

import (
	"net/http"

	"github.com/go-chi/chi/v5"
)

// block serves POST /chat/conversations/{id}/block.
func (h *handlers) block(w http.ResponseWriter, r *http.Request) {
	id := chi.URLParam(r, "id")
	if err := h.chat.Block(r.Context(), user(r).UserID, id); err != nil {
		h.failed(w, r, "block", err)
		return
	}
	http.Redirect(w, r, conversationURL(id)+"?done=blocked", http.StatusSeeOther)
}
