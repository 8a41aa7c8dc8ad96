package web

import (
	"errors"
	"net/http"

	"github.com/scs-platform/scs-chat/internal/chat"
)

// stopWaiting serves POST /chat/waiting/stop.
func (h *handlers) stopWaiting(w http.ResponseWriter, r *http.Request) {
	err := h.chat.StopWaiting(r.Context(), user(r).UserID)
	if err != nil && !errors.Is(err, chat.ErrNotWaiting) {
		h.failed(w, r, "stop waiting", err)
		return
	}
	// Matched meanwhile: the start page sends the user to the conversation.
	http.Redirect(w, r, "/chat/?done=stopped", http.StatusSeeOther)
}
