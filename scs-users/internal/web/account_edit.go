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
	render(w, r, h.logger, http.StatusOK, deletePage(deleteView(v, nil)))
}

// deleteAccount serves POST /users/account/delete.
func (h *handlers) deleteAccount(w http.ResponseWriter, r *http.Request) {
	if !h.parseForm(w, r) {
		return
	}
	v, _ := viewerFrom(r.Context())
	err := h.accounts.DeleteAccount(r.Context(), v.user.ID, r.PostForm.Get("password"))
	var errs accounts.FieldErrors
	if errors.As(err, &errs) {
		render(w, r, h.logger, http.StatusUnprocessableEntity, deletePage(deleteView(v, errs)))
		return
	}
	if err != nil {
		h.failed(w, r, "delete account", err)
		return
	}
	h.logger.Info("account deleted", "user", v.user.ID)
	h.clearCookie(w)
	http.Redirect(w, r, "/users/?done=deleted", http.StatusSeeOther)
}
