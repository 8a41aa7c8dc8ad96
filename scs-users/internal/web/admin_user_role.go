package web

import (
	"errors"
	"net/http"

	"github.com/scs-platform/shared-events/contracts"

	"github.com/scs-platform/scs-users/internal/accounts"
)

// setRole serves POST /users/admin/users/{id}/role.
func (h *handlers) setRole(w http.ResponseWriter, r *http.Request) {
	if !h.parseForm(w, r) {
		return
	}
	v, _ := viewerFrom(r.Context())
	id := r.PathValue("id")
	err := h.accounts.SetRole(r.Context(), v.user.ID, id, contracts.Role(r.PostForm.Get("role")))
	var errs accounts.FieldErrors
	switch {
	case errors.As(err, &errs):
		h.renderAdminUser(w, r, http.StatusUnprocessableEntity, "", nil, errs["role"])
		return
	case errors.Is(err, accounts.ErrLastAdmin):
		h.renderAdminUser(w, r, http.StatusConflict, "", nil, "This is the only admin. Make someone else admin first.")
		return
	case err != nil:
		h.failed(w, r, "set role", err)
		return
	}
	h.logger.InfoContext(r.Context(), "moderation", "action", "role", "role", r.PostForm.Get("role"), "user", id, "admin", v.user.ID)
	http.Redirect(w, r, "/users/admin/users/"+id+"?done=role", http.StatusSeeOther)
}
