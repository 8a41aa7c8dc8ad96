package web

import (
	"errors"
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/scs-platform/scs-chat/internal/chat"
)

// send serves POST /chat/conversations/{id}/messages, the form without
// JavaScript (with it, messages go over the websocket).
func (h *handlers) send(w http.ResponseWriter, r *http.Request) {
	if !h.parseForm(w, r) {
		return
	}
	id := chi.URLParam(r, "id")
	text := r.PostFormValue("text")
	_, err := h.chat.Send(r.Context(), user(r).UserID, id, r.PostFormValue("client_id"), text)
	if ue, ok := errors.AsType[*chat.UserError](err); ok {
		h.conversationPage(w, r, refusedStatus(w, ue), conversationForms{Text: text, Errors: map[string]string{"text": ue.Message}})
		return
	}
	if err != nil {
		h.failed(w, r, "send", err)
		return
	}
	http.Redirect(w, r, conversationURL(id)+"#latest", http.StatusSeeOther)
}
