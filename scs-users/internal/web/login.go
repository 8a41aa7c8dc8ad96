package web

import (
	"errors"
	"net/http"

	"github.com/scs-platform/scs-users/internal/accounts"
	"github.com/scs-platform/scs-users/internal/password"
	"github.com/scs-platform/shared-events/httpkit/pages"
)

func logInView(v viewer, email, next, formError string, errs accounts.FieldErrors) LogInView {
	return LogInView{
		Page: page("Log in", v),
		Email: Field{Name: "email", Label: "Email address", Type: "email", Value: email, Error: errs["email"],
			Autocomplete: "username", MaxLength: accounts.MaxEmailLength},
		Password: Field{Name: "password", Label: "Password", Type: "password", Error: errs["password"],
			Autocomplete: "current-password", MaxLength: password.MaxLength},
		Error: formError,
		Next:  next,
	}
}

// logInForm serves GET /users/login.
func (h *handlers) logInForm(w http.ResponseWriter, r *http.Request) {
	next := safeNext(r.URL.Query().Get("next"))
	if h.alreadyLoggedIn(w, r, next) {
		return
	}
	v := logInView(viewer{}, "", next, "", nil)
	v.Page.Done = doneMessage(r)
	pages.Render(w, r, h.logger, http.StatusOK, logInPage(v))
}

// logIn serves POST /users/login. A wrong password and an unknown address get
// the same page with the same status, byte for byte.
func (h *handlers) logIn(w http.ResponseWriter, r *http.Request) {
	if !h.parseForm(w, r) {
		return
	}
	email, next := r.PostForm.Get("email"), safeNext(r.PostForm.Get("next"))
	in := accounts.LogIn{Email: email, Password: r.PostForm.Get("password"), Client: h.client(r)}
	if v, ok := viewerFrom(r.Context()); ok {
		in.Previous = v.session.ID
	}
	u, sess, err := h.accounts.LogIn(r.Context(), in)
	var errs accounts.FieldErrors
	switch {
	case errors.As(err, &errs):
		pages.Render(w, r, h.logger, http.StatusUnprocessableEntity, logInPage(logInView(viewer{}, email, next, "", errs)))
		return
	case errors.Is(err, accounts.ErrInvalidCredentials):
		pages.Render(w, r, h.logger, http.StatusUnauthorized, logInPage(logInView(viewer{}, email, next,
			"The email address or the password is not right. Check both and try again.", nil)))
		return
	case errors.Is(err, accounts.ErrSuspended):
		pages.Render(w, r, h.logger, http.StatusForbidden, logInPage(logInView(viewer{}, email, next,
			"This account is suspended. If you think this is a mistake, contact the platform's support.", nil)))
		return
	case err != nil:
		h.failed(w, r, "log in", err)
		return
	}
	if err := h.issueCookie(w, r, u, sess); err != nil {
		h.unavailable(w, r, "issue the session token", err)
		return
	}
	if next == "/users/account" {
		next += "?done=login"
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// alreadyLoggedIn answers the login or sign-up form of a logged-in user: their
// account, or a page that leads on to next. It reports whether it answered.
func (h *handlers) alreadyLoggedIn(w http.ResponseWriter, r *http.Request, next string) bool {
	v, ok := viewerFrom(r.Context())
	if !ok {
		return false
	}
	if next == "/users/account" {
		http.Redirect(w, r, next, http.StatusSeeOther)
		return true
	}
	pages.Render(w, r, h.logger, http.StatusOK, alreadyPage(AlreadyView{Page: page("You are logged in", v), Name: v.user.DisplayName, Next: next}))
	return true
}
