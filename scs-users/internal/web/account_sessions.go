package web

import (
	"net/http"
)

// revokeSession serves POST /users/account/sessions/{id}/revoke. Only the
// user's own sessions can be ended; any other id is not found.
func (h *handlers) revokeSession(w http.ResponseWriter, r *http.Request) {
	v, _ := viewerFrom(r.Context())
	id := r.PathValue("id")
	if id == v.session.ID {
		// The current session ends by logging out, which also clears the cookie.
		h.logOut(w, r)
		return
	}
	if err := h.accounts.RevokeSession(r.Context(), v.user.ID, id); err != nil {
		h.failed(w, r, "revoke session", err)
		return
	}
	http.Redirect(w, r, "/users/account?done=revoked", http.StatusSeeOther)
}

// revokeOtherSessions serves POST /users/account/sessions/revoke-others.
func (h *handlers) revokeOtherSessions(w http.ResponseWriter, r *http.Request) {
	v, _ := viewerFrom(r.Context())
	next, err := h.accounts.RevokeOtherSessions(r.Context(), v.user.ID, v.session.ID, h.client(r))
	if err != nil {
		h.failed(w, r, "revoke other sessions", err)
		return
	}
	h.renewed(w, r, v.user.ID, next, "/users/account?done=others")
}
