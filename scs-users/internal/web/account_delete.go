package web

import (
	"errors"
	"net/http"

	"github.com/scs-platform/scs-users/internal/accounts"
	"github.com/scs-platform/shared-events/httpkit/pages"
)

func deleteView(v viewer, errs accounts.FieldErrors) DeleteView {
	return DeleteView{
		Page: page("Delete your account", v),
		Password: Field{Name: "password", Label: "Your password, to confirm", Type: "password", Error: errs["password"],
			Autocomplete: "current-password"},
	}
}

// deleteAccountForm serves GET /users/account/delete.
func (h *handlers) deleteAccountForm(w http.ResponseWriter, r *http.Request) {
	v, _ := viewerFrom(r.Context())
	pages.Render(w, r, h.logger, http.StatusOK, deletePage(deleteView(v, nil)))
}

// deleteAccount serves POST /users/account/delete.
func (h *handlers) deleteAccount(w http.ResponseWriter, r *http.Request) {
	if !h.parseForm(w, r) {
		return
	}
	v, _ := viewerFrom(r.Context())
	err := h.accounts.DeleteAccount(r.Context(), v.user.ID, v.session.ID, r.PostForm.Get("password"))
	var errs accounts.FieldErrors
	if errors.As(err, &errs) {
		pages.Render(w, r, h.logger, http.StatusUnprocessableEntity, deletePage(deleteView(v, errs)))
		return
	}
	if errors.Is(err, accounts.ErrLastAdmin) {
		pages.Render(w, r, h.logger, http.StatusConflict, deletePage(deleteView(v, accounts.FieldErrors{
			"password": "You are the platform's only admin. Make someone else admin first, then delete your account."})))
		return
	}
	if err != nil {
		h.failed(w, r, "delete account", err)
		return
	}
	h.logger.InfoContext(r.Context(), "account deleted", "user", v.user.ID)
	h.clearCookie(w)
	http.Redirect(w, r, "/users/?done=deleted", http.StatusSeeOther)
}
