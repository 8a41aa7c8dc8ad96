package web

import (
	"errors"
	"net/http"

	"github.com/scs-platform/scs-users/internal/accounts"
)

// rename serves POST /users/account/name.
func (h *handlers) rename(w http.ResponseWriter, r *http.Request) {
	if !h.parseForm(w, r) {
		return
	}
	v, _ := viewerFrom(r.Context())
	name := r.PostForm.Get("display_name")
	_, err := h.accounts.Rename(r.Context(), v.user.ID, name)
	var errs accounts.FieldErrors
	if errors.As(err, &errs) {
		h.renderAccount(w, r, http.StatusUnprocessableEntity, accountForms{name: name, nameErrors: errs})
		return
	}
	if err != nil {
		h.failed(w, r, "rename", err)
		return
	}
	http.Redirect(w, r, "/users/account?done=name", http.StatusSeeOther)
}
