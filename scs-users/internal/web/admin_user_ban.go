package web

import (
	"errors"
	"net/http"

	"github.com/scs-platform/scs-users/internal/accounts"
)

// banUser serves POST /users/admin/users/{id}/ban.
func (h *handlers) banUser(w http.ResponseWriter, r *http.Request) {
	h.moderate(w, r, "banned", func(actor, id, reason string) error { return h.accounts.Ban(r.Context(), actor, id, reason) })
}

// unbanUser serves POST /users/admin/users/{id}/unban.
func (h *handlers) unbanUser(w http.ResponseWriter, r *http.Request) {
	h.moderate(w, r, "unbanned", func(actor, id, reason string) error { return h.accounts.Unban(r.Context(), actor, id, reason) })
}

func (h *handlers) moderate(w http.ResponseWriter, r *http.Request, done string, act func(actor, id, reason string) error) {
	if !h.parseForm(w, r) {
		return
	}
	v, _ := viewerFrom(r.Context())
	id, reason := r.PathValue("id"), r.PostForm.Get("reason")
	err := act(v.user.ID, id, reason)
	var errs accounts.FieldErrors
	switch {
	case errors.As(err, &errs):
		h.renderAdminUser(w, r, http.StatusUnprocessableEntity, reason, errs, "")
		return
	case errors.Is(err, accounts.ErrSelf):
		h.renderAdminUser(w, r, http.StatusConflict, reason, accounts.FieldErrors{"reason": "You cannot ban yourself."}, "")
		return
	case errors.Is(err, accounts.ErrLastAdmin):
		h.renderAdminUser(w, r, http.StatusConflict, reason, accounts.FieldErrors{"reason": "This is the only other admin left; the platform needs one."}, "")
		return
	case err != nil:
		h.failed(w, r, done, err)
		return
	}
	h.logger.InfoContext(r.Context(), "moderation", "action", done, "user", id, "admin", v.user.ID)
	http.Redirect(w, r, "/users/admin/users/"+id+"?done="+done, http.StatusSeeOther)
}
