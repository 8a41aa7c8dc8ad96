package web

import (
	"errors"
	"net/http"

	"github.com/scs-platform/scs-users/internal/accounts"
)

// changePassword serves POST /users/account/password. The session it was sent
// from is renewed (a new id) and every other one ends.
func (h *handlers) changePassword(w http.ResponseWriter, r *http.Request) {
	if !h.parseForm(w, r) {
		return
	}
	v, _ := viewerFrom(r.Context())
	next, err := h.accounts.ChangePassword(r.Context(), v.user.ID, accounts.ChangePassword{
		Current: r.PostForm.Get("current_password"), New: r.PostForm.Get("new_password"),
		Session: v.session.ID, Client: h.client(r),
	})
	var errs accounts.FieldErrors
	if errors.As(err, &errs) {
		h.renderAccount(w, r, http.StatusUnprocessableEntity, accountForms{passwordError: errs})
		return
	}
	if err != nil {
		h.failed(w, r, "change password", err)
		return
	}
	h.renewed(w, r, v.user.ID, next, "/users/account?done=password")
}

// renewed sets the cookie of the session that replaced the current one and
// goes to done.
func (h *handlers) renewed(w http.ResponseWriter, r *http.Request, userID string, next accounts.Session, done string) {
	u, err := h.accounts.UserByID(r.Context(), userID)
	if err == nil {
		err = h.issueCookie(w, r, u, next)
	}
	if err != nil {
		h.unavailable(w, r, "issue the renewed session's token", err)
		return
	}
	http.Redirect(w, r, done, http.StatusSeeOther)
}
