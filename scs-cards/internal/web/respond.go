package web

import (
	"errors"
	"log/slog"
	"net/http"
	"strings"

	"github.com/scs-platform/shared-events/httpkit/pages"
	"github.com/scs-platform/shared-events/identity/authn"

	"github.com/scs-platform/scs-cards/internal/cards"
	"github.com/scs-platform/scs-cards/internal/ledger"
	"github.com/scs-platform/scs-cards/internal/terminal"
)

// handlers holds what the request handlers need.
type handlers struct {
	logger *slog.Logger
	ledger *ledger.Service
	cards  *cards.Service
	// merchant is the merchant terminal.
	merchant *terminal.Service
	// terminalToken is the terminal API's bearer credential.
	terminalToken string
}

// maxFormBytes bounds a form's body: the largest form is far smaller.
const maxFormBytes = 16 << 10

// user is the principal the gate let through.
func user(r *http.Request) authn.Principal {
	p, _ := authn.PrincipalFrom(r.Context())
	return p
}

// page is the Page of a cards page titled title.
func page(r *http.Request, title string) Page {
	return Page{Title: title, Section: "cards", User: user(r).DisplayName, Done: doneMessages[r.URL.Query().Get("done")]}
}

// done messages confirm a change after its redirect (?done=...). Only these
// fixed sentences are ever shown, whatever the query says.
var doneMessages = map[string]string{
	"opened":    "Your card account is open, and your first card is on its way.",
	"issued":    "A new virtual card is ready to use.",
	"frozen":    "The card is frozen: purchases on it are declined until you unfreeze it.",
	"unfrozen":  "The card is active again.",
	"cancelled": "The card is cancelled for good.",
	"paid":      "Thank you: the payment is made, and your available credit is back.",
}

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

// methodNotAllowed answers, say, a typed-in address of a form's POST.
func (h *handlers) methodNotAllowed(w http.ResponseWriter, r *http.Request) {
	h.errorPage(w, r, http.StatusMethodNotAllowed, "Not here", "This address is where a form is sent, not a page to open. Go back to your card account and try again from there.")
}

// crossSite answers a form sent from another site.
func (h *handlers) crossSite(w http.ResponseWriter, r *http.Request) {
	h.errorPage(w, r, http.StatusForbidden, pages.CrossOriginTitle, pages.CrossOriginMessage)
}

// notFound is the page for an address nothing answers.
func (h *handlers) notFound(w http.ResponseWriter, r *http.Request) {
	h.errorPage(w, r, http.StatusNotFound, "Not found", "There is no page at this address.")
}

// errorPage answers with a page that says, in plain words, what happened.
func (h *handlers) errorPage(w http.ResponseWriter, r *http.Request, status int, title, message string) {
	pages.Render(w, r, h.logger, status, errorView(ErrorView{Page: page(r, title), Status: status, Message: message}))
}

// unavailable answers 503 after a failure of the database: the user sees a
// safe sentence, the log has the cause.
func (h *handlers) unavailable(w http.ResponseWriter, r *http.Request, what string, err error) {
	h.logger.Error(what, "path", r.URL.Path, "err", err)
	w.Header().Set("Retry-After", "5")
	h.errorPage(w, r, http.StatusServiceUnavailable, "Something went wrong on our side",
		"We could not finish this just now. Please try again in a moment.")
}

// failed answers the errors of the card account's actions.
func (h *handlers) failed(w http.ResponseWriter, r *http.Request, what string, err error) {
	switch {
	case errors.Is(err, ledger.ErrNotFound):
		h.errorPage(w, r, http.StatusNotFound, "Not found", "There is no such card or statement, or it is not yours.")
	case errors.Is(err, ledger.ErrNoAccount):
		h.errorPage(w, r, http.StatusConflict, "No card account yet", "Open a card account first.")
	case errors.Is(err, ledger.ErrHasAccount):
		h.errorPage(w, r, http.StatusConflict, "You have a card account", "You have a card account already; a user has one at most.")
	case errors.Is(err, ledger.ErrClosed):
		h.errorPage(w, r, http.StatusConflict, "The account is closed", "This card account is closed; nothing more can be changed in it.")
	default:
		if ue, ok := errors.AsType[*ledger.UserError](err); ok {
			h.errorPage(w, r, http.StatusConflict, "That did not work", ue.Message)
			return
		}
		h.unavailable(w, r, what, err)
	}
}

// lagging is the gate's "one moment" page: the replica does not know the
// user's account or key yet, which is a matter of moments after a sign-up.
// Retry is the path asked for, which need not be one of ours, so the page
// only ever leads under /cards/.
func (h *handlers) lagging(w http.ResponseWriter, r *http.Request, retry string, attempt int) {
	w.Header().Set("Retry-After", "1")
	if retry != "" && !strings.HasPrefix(retry, "/cards/") {
		retry = "/cards/"
	}
	v := ErrorView{Page: page(r, "One moment"), Status: http.StatusServiceUnavailable,
		Message: "Cards is still getting to know your account. This takes a moment after signing up.", Retry: retry}
	if retry != "" {
		v.Page.Refresh, v.Page.RefreshTo = 1, retry
	} else {
		v.Message += " Send the form again in a moment."
	}
	pages.Render(w, r, h.logger, http.StatusServiceUnavailable, errorView(v))
}

// gateUnavailable answers a replica that could not be asked.
func (h *handlers) gateUnavailable(w http.ResponseWriter, r *http.Request, err error) {
	h.unavailable(w, r, "verify the session token", err)
}
