package web

import (
	"net/http"
)

// refresh serves GET /users/session/refresh?next=...: the other systems send
// a browser here when its token has expired or predates the user's latest
// change. A live session gets a new token and goes back to next; an ended one
// goes to the login page, which comes back to next afterwards.
func (h *handlers) refresh(w http.ResponseWriter, r *http.Request) {
	next := safeNext(r.URL.Query().Get("next"))
	v, ok := viewerFrom(r.Context())
	if !ok {
		http.Redirect(w, r, loginURL(next), http.StatusSeeOther)
		return
	}
	// withSession renewed a token that needed it; a new one anyway, so that a
	// system that still refuses the old one never sends the browser round in
	// circles with it.
	if err := h.issueCookie(w, r, v.user, v.session); err != nil {
		h.unavailable(w, r, "renew the session token", err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, next, http.StatusSeeOther)
}
