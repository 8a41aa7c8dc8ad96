package web

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"

	"github.com/scs-platform/scs-users/internal/accounts"
	"github.com/scs-platform/scs-users/internal/password"
	"github.com/scs-platform/shared-events/httpkit/pages"
)

func signUpURL(next string) string {
	if next == "" || next == "/users/account" {
		return "/users/signup"
	}
	return "/users/signup?next=" + url.QueryEscape(next)
}

func signUpView(v viewer, email, name, next string, errs accounts.FieldErrors) SignUpView {
	return SignUpView{
		Page: page("Create your account", v),
		Email: Field{Name: "email", Label: "Email address", Type: "email", Value: email, Error: errs["email"],
			Autocomplete: "email", MaxLength: accounts.MaxEmailLength},
		DisplayName: Field{Name: "display_name", Label: "Your name", Value: name, Error: errs["display_name"],
			Hint: "Other people see it, in WhisperChat say.", Autocomplete: "nickname", MaxLength: accounts.MaxDisplayNameLength},
		// The password is never sent back, not even after an error.
		Password: Field{Name: "password", Label: "Password", Type: "password", Error: errs["password"], Autocomplete: "new-password",
			Hint: "At least " + strconv.Itoa(password.MinLength) + " characters; " + strconv.Itoa(password.SuggestedLength) +
				" or more is better. A few words you will remember make a good one.",
			MaxLength: password.MaxLength},
		Next: next,
	}
}

// signUpForm serves GET /users/signup.
func (h *handlers) signUpForm(w http.ResponseWriter, r *http.Request) {
	next := safeNext(r.URL.Query().Get("next"))
	if h.alreadyLoggedIn(w, r, next) {
		return
	}
	pages.Render(w, r, h.logger, http.StatusOK, signUpPage(signUpView(viewer{}, "", "", next, nil)))
}

// signUp serves POST /users/signup: it creates the account and logs it in.
func (h *handlers) signUp(w http.ResponseWriter, r *http.Request) {
	if !h.parseForm(w, r) {
		return
	}
	email, name, next := r.PostForm.Get("email"), r.PostForm.Get("display_name"), safeNext(r.PostForm.Get("next"))
	u, sess, err := h.accounts.SignUp(r.Context(), accounts.SignUp{
		Email: email, DisplayName: name, Password: r.PostForm.Get("password"), Client: h.client(r),
	})
	var errs accounts.FieldErrors
	if errors.As(err, &errs) {
		pages.Render(w, r, h.logger, http.StatusUnprocessableEntity, signUpPage(signUpView(viewer{}, email, name, next, errs)))
		return
	}
	if err != nil {
		h.failed(w, r, "sign up", err)
		return
	}
	if err := h.issueCookie(w, r, u, sess); err != nil {
		h.unavailable(w, r, "issue the session token", err)
		return
	}
	h.logger.InfoContext(r.Context(), "signed up", "user", u.ID)
	if next == "/users/account" {
		next += "?done=signup"
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}
