package web

import (
	"net/http"

	"github.com/go-chi/chi/v5"
	"github.com/scs-platform/scs-cards/internal/terminal"
)

// terminalSettle answers POST /cards/terminal/authorisations/{id}/capture and /void from the terminal page.
func (h *handlers) terminalSettle(w http.ResponseWriter, r *http.Request) {
	if !h.adminOnly(w, r) || !h.parseForm(w, r) {
		return
	}
	key := r.PostFormValue("key")
	if bad := checkKey(key); bad != nil {
		h.errorPage(w, r, http.StatusBadRequest, "The form is incomplete", "This form has lost its key. Open the terminal page again and send it from there.")
		return
	}
	id := chi.URLParam(r, "id")
	var reply terminal.Reply
	var err error
	if chi.URLParam(r, "action") == "capture" {
		reply, err = h.merchant.Capture(r.Context(), adminScope(r), key, terminal.CaptureRequest{AuthorisationID: id})
	} else {
		reply, err = h.merchant.Void(r.Context(), adminScope(r), key, terminal.VoidRequest{AuthorisationID: id})
	}
	if err != nil {
		h.unavailable(w, r, "settle", err)
		return
	}
	h.afterTerminal(w, r, reply)
}
