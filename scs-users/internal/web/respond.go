package web

import (
	"errors"
	"log/slog"
	"net/http"
	"net/netip"
	"strconv"

	"github.com/scs-platform/shared-events/httpkit/pages"

	"github.com/scs-platform/shared-events/identity/authn"

	"github.com/scs-platform/scs-users/internal/accounts"
	"github.com/scs-platform/scs-users/internal/moderation"
	"github.com/scs-platform/scs-users/internal/password"
	"github.com/scs-platform/scs-users/internal/signing"
)

// handlers holds what the request handlers need.
type handlers struct {
	logger         *slog.Logger
	accounts       *accounts.Service
	moderation     *moderation.Service
	keys           *signing.Keyring
	parser         *authn.Parser
	cookies        Cookies
	trustedProxies []netip.Prefix
}

// maxFormBytes bounds a form's body: the largest form (a ban reason) is far
// smaller.
const maxFormBytes = 64 << 10

// parseForm reads a POST's form, at most maxFormBytes of it. On failure it has
// answered already and returns false.
func (h *handlers) parseForm(w http.ResponseWriter, r *http.Request) bool {
	if err := pages.ParseForm(w, r, maxFormBytes); err != nil {
		status, title, message := pages.Refusal(err)
		h.errorPage(w, r, status, title, message)
		return false
	}
	return true
}

// notText answers a request whose address is not text.
func (h *handlers) notText(w http.ResponseWriter, r *http.Request) {
	h.errorPage(w, r, http.StatusBadRequest, pages.NotTextTitle, pages.NotTextMessage)
}

// errorPage answers with a page that says, in plain words, what happened.
func (h *handlers) errorPage(w http.ResponseWriter, r *http.Request, status int, title, message string) {
	v, _ := viewerFrom(r.Context())
	pages.Render(w, r, h.logger, status, errorView(ErrorView{Page: page(title, v), Status: status, Message: message}))
}

// crossSite answers a form sent from another site.
func (h *handlers) crossSite(w http.ResponseWriter, r *http.Request) {
	h.errorPage(w, r, http.StatusForbidden, pages.CrossOriginTitle, pages.CrossOriginMessage)
}

// notFound is the page for an address nothing answers.
func (h *handlers) notFound(w http.ResponseWriter, r *http.Request) {
	h.errorPage(w, r, http.StatusNotFound, "Not found", "There is no page at this address.")
}

// methodNotAllowed answers, say, a typed-in address of a form's POST.
func (h *handlers) methodNotAllowed(w http.ResponseWriter, r *http.Request) {
	h.errorPage(w, r, http.StatusMethodNotAllowed, "Not here", "This address is where a form is sent, not a page to open. Go back and try again from the page.")
}

// unavailable answers 503 after a failure of the database or the keys: the
// user sees a safe sentence, the log has the cause.
func (h *handlers) unavailable(w http.ResponseWriter, r *http.Request, what string, err error) {
	h.logger.Error(what, "path", r.URL.Path, "err", err)
	w.Header().Set("Retry-After", "5")
	h.errorPage(w, r, http.StatusServiceUnavailable, "Something went wrong on our side",
		"We could not finish this just now. Please try again in a moment.")
}

// failed answers the errors every form shares: limits, a busy hasher, a
// session that ended meanwhile, and the rest as unavailable.
func (h *handlers) failed(w http.ResponseWriter, r *http.Request, what string, err error) {
	var limited *accounts.RateLimited
	switch {
	case errors.As(err, &limited):
		w.Header().Set("Retry-After", strconv.Itoa(limited.RetryAfterSeconds()))
		h.errorPage(w, r, http.StatusTooManyRequests, "Too many attempts",
			"There were too many attempts from you or for this account. Wait "+waitWords(limited.RetryAfterSeconds())+" and try again.")
	case errors.Is(err, password.ErrBusy):
		w.Header().Set("Retry-After", "2")
		h.errorPage(w, r, http.StatusServiceUnavailable, "Busy right now",
			"Many people are logging in at the same time. Please try again in a few seconds.")
	case errors.Is(err, accounts.ErrSessionEnded), errors.Is(err, accounts.ErrSuspended):
		h.clearCookie(w)
		http.Redirect(w, r, loginURL(""), http.StatusSeeOther)
	case errors.Is(err, accounts.ErrNotFound):
		h.errorPage(w, r, http.StatusNotFound, "Not found", "There is nothing here, or it is gone.")
	default:
		h.unavailable(w, r, what, err)
	}
}

// waitWords says a wait of n seconds the way a person would.
func waitWords(n int) string {
	switch {
	case n <= 1:
		return "a second"
	case n < 60:
		return strconv.Itoa(n) + " seconds"
	case n < 120:
		return "a minute"
	default:
		return strconv.Itoa((n+59)/60) + " minutes"
	}
}

// done messages confirm a change after its redirect (?done=...). Only these
// fixed sentences are ever shown, whatever the query says.
var doneMessages = map[string]string{
	"signup":   "Welcome! Your account is ready.",
	"login":    "You are logged in.",
	"name":     "Your name is saved. Other people see it within moments.",
	"password": "Your password is changed, and you are logged out on every other device.",
	"others":   "You are logged out on every other device.",
	"revoked":  "That device is logged out.",
	"logout":   "You are logged out.",
	"deleted":  "Your account is deleted. Goodbye, and thank you.",
	"banned":   "The account is banned and logged out everywhere.",
	"unbanned": "The ban is lifted.",
	"role":     "The role is changed. The user's sessions switch to it at their next request.",
	"dismiss":  "The report is dismissed.",
}

func doneMessage(r *http.Request) string {
	return doneMessages[r.URL.Query().Get("done")]
}
