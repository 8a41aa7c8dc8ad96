package web

import (
	"net/http"
)

// logOut serves POST /users/logout: the session ends here and, within the
// replication lag, everywhere.
func (h *handlers) logOut(w http.ResponseWriter, r *http.Request) {
	if v, ok := viewerFrom(r.Context()); ok {
		if err := h.accounts.LogOut(r.Context(), v.session.ID); err != nil {
			h.unavailable(w, r, "log out", err)
			return
		}
	}
	h.clearCookie(w)
	http.Redirect(w, r, "/users/login?done=logout", http.StatusSeeOther)
}
