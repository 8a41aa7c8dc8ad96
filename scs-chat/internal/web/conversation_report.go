package web

import (
	"errors"
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/scs-platform/scs-chat/internal/chat"
)

// report serves POST /chat/conversations/{id}/report.
func (h *handlers) report(w http.ResponseWriter, r *http.Request) {
	if !h.parseForm(w, r) {
		return
	}
	id := chi.URLParam(r, "id")
	reason := r.PostFormValue("reason")
	_, err := h.chat.Report(r.Context(), user(r).UserID, id, reason)
	if ue, ok := errors.AsType[*chat.UserError](err); ok {
		h.conversationPage(w, r, refusedStatus(w, ue), conversationForms{Reason: reason, Errors: map[string]string{"reason": ue.Message}})
		return
	}
	if err != nil {
		h.failed(w, r, "report", err)
		return
	}
	http.Redirect(w, r, conversationURL(id)+"?done=reported", http.StatusSeeOther)
}
