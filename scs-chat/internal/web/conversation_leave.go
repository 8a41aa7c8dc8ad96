package web

import (
	"errors"
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/scs-platform/scs-chat/internal/chat"
)

// leave serves POST /chat/conversations/{id}/leave.
func (h *handlers) leave(w http.ResponseWriter, r *http.Request) {
	id := chi.URLParam(r, "id")
	if err := h.chat.Leave(r.Context(), user(r).UserID, id); err != nil && !errors.Is(err, chat.ErrEnded) {
		h.failed(w, r, "leave", err)
		return
	}
	http.Redirect(w, r, conversationURL(id)+"?done=left", http.StatusSeeOther)
}
