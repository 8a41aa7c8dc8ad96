package web

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/scs-platform/shared-events/httpkit/pages"

	"github.com/scs-platform/shared-events/identity/authn"
	"github.com/scs-platform/shared-events/identity/usersreplica"

	"github.com/scs-platform/scs-chat/internal/chat"
	"github.com/scs-platform/scs-chat/internal/live"
)

// handlers holds what the request handlers need.
type handlers struct {
	logger *slog.Logger
	chat   *chat.Service
	users  usersreplica.Store
	hub    *live.Hub
	// shutdown ends when the system stops.
	shutdown context.Context
}

// maxFormBytes bounds a form's body: the largest form (a message) is far
// smaller.
const maxFormBytes = 64 << 10

// user is the principal the gate let through.
func user(r *http.Request) authn.Principal {
	p, _ := authn.PrincipalFrom(r.Context())
	return p
}

// page is the Page of a chat page titled title.
func page(r *http.Request, title string) Page {
	return Page{Title: title, Section: "chat", User: user(r).DisplayName, Done: doneMessages[r.URL.Query().Get("done")]}
}

// done messages confirm a change after its redirect (?done=...). Only these
// fixed sentences are ever shown, whatever the query says.
var doneMessages = map[string]string{
	"stopped":  "You are no longer waiting.",
	"expired":  "Your wait ended: there was no sign of you for a while, or it had lasted long. Join again to keep looking.",
	"left":     "You left the conversation.",
	"blocked":  "Blocked. The two of you will never be matched again.",
	"reported": "Thank you. The report is with the moderators.",
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
	h.errorPage(w, r, http.StatusMethodNotAllowed, "Not here", "This address is where a form is sent, not a page to open. Go back to WhisperChat and try again from there.")
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

// failed answers the errors of chat's actions.
func (h *handlers) failed(w http.ResponseWriter, r *http.Request, what string, err error) {
	switch {
	case errors.Is(err, chat.ErrNotFound):
		h.errorPage(w, r, http.StatusNotFound, "Not found", "There is no such conversation, or it is not yours.")
	case errors.Is(err, chat.ErrEnded):
		h.errorPage(w, r, http.StatusConflict, "The conversation has ended", "This conversation has ended; nothing more can be sent or changed in it.")
	default:
		if ue, ok := errors.AsType[*chat.UserError](err); ok {
			h.errorPage(w, r, refusedStatus(w, ue), "That did not work", ue.Message)
			return
		}
		h.unavailable(w, r, what, err)
	}
}

// refusedStatus is the status of a refusal meant for the user: 429 with
// Retry-After (whole seconds, rounded up) for a rate limit, else 400.
func refusedStatus(w http.ResponseWriter, ue *chat.UserError) int {
	if ue.RetryAfter <= 0 {
		return http.StatusBadRequest
	}
	w.Header().Set("Retry-After", strconv.Itoa(max(1, int((ue.RetryAfter+time.Second-1)/time.Second))))
	return http.StatusTooManyRequests
}

// crossSite answers a form sent from another site.
func (h *handlers) crossSite(w http.ResponseWriter, r *http.Request) {
	h.errorPage(w, r, http.StatusForbidden, pages.CrossOriginTitle, pages.CrossOriginMessage)
}

// notFound is the page for an address nothing answers.
func (h *handlers) notFound(w http.ResponseWriter, r *http.Request) {
	h.errorPage(w, r, http.StatusNotFound, "Not found", "There is no page at this address.")
}

// lagging is the gate's "one moment" page: the replica does not know the
// user's account or key yet, which is a matter of moments after a sign-up.
//
// The page refreshes to retry, not to itself: retry counts the attempts, and
// the gate sends the browser to log in after a few, for a user or key that
// never arrives. Retry is the path asked for, which need not be one of ours
// (a browser reads "//evil.example/" as another site), so the page only ever
// leads under /chat/.
func (h *handlers) lagging(w http.ResponseWriter, r *http.Request, retry string, attempt int) {
	w.Header().Set("Retry-After", "1")
	if retry != "" && !strings.HasPrefix(retry, "/chat/") {
		retry = "/chat/"
	}
	v := ErrorView{Page: page(r, "One moment"), Status: http.StatusServiceUnavailable,
		Message: "WhisperChat is still getting to know your account. This takes a moment after signing up.", Retry: retry}
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
