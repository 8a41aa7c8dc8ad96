package web

import (
	"encoding/json"
	"net/http"
	"net/url"

	"github.com/google/uuid"

	"github.com/scs-platform/shared-events/contracts"
	"github.com/scs-platform/shared-events/httpkit/pages"

	"github.com/scs-platform/scs-cards/internal/ledger"
	"github.com/scs-platform/scs-cards/internal/terminal"
)

// The admins' terminal page runs the same operations as the terminal API,
// under the admin's own idempotency scope: each form carries a key made when
// the page was rendered, so that sending it twice has one effect.

// terminalForm is the purchase form and its errors.
type terminalForm struct {
	Key, CardID, Amount, Currency, Merchant string
	Errors                                  map[string]string
}

// adminScope is an admin's idempotency scope.
func adminScope(r *http.Request) string { return "admin:" + user(r).UserID }

// adminOnly answers for a user who is not an admin and returns false.
func (h *handlers) adminOnly(w http.ResponseWriter, r *http.Request) bool {
	if user(r).Role == contracts.RoleAdmin {
		return true
	}
	h.errorPage(w, r, http.StatusForbidden, "For admins only", "The merchant terminal is for the platform's admins.")
	return false
}

// terminal is the admins' merchant terminal page, GET /cards/terminal.
func (h *handlers) terminal(w http.ResponseWriter, r *http.Request) {
	if !h.adminOnly(w, r) {
		return
	}
	h.terminalPage(w, r, http.StatusOK, terminalForm{Currency: string(h.ledger.Currency)})
}

func (h *handlers) terminalPage(w http.ResponseWriter, r *http.Request, status int, f terminalForm) {
	purchases, err := h.merchant.Purchases(r.Context(), 20)
	if err != nil {
		h.unavailable(w, r, "terminal", err)
		return
	}
	if f.Key == "" {
		f.Key = newKey()
	}
	q := r.URL.Query()
	v := TerminalView{Page: page(r, "Merchant terminal"), Form: f, Purchases: purchases, Highlight: q.Get("id")}
	switch q.Get("outcome") {
	case "approved":
		v.Outcome = "Approved."
	case "declined":
		v.Outcome = "Declined: " + ledger.DeclineReason(q.Get("reason")).Sentence()
		if _, known := declineReasons[ledger.DeclineReason(q.Get("reason"))]; !known {
			v.Outcome = "Declined."
		}
	case "captured":
		v.Outcome = "Captured: the purchase is posted."
	case "voided":
		v.Outcome = "Voided: the hold is released."
	}
	pages.Render(w, r, h.logger, status, terminalPage(v))
}

var declineReasons = map[ledger.DeclineReason]struct{}{
	ledger.DeclineUnknownCard: {}, ledger.DeclineCardFrozen: {}, ledger.DeclineCardCancelled: {},
	ledger.DeclineAccountClosed: {}, ledger.DeclineInsufficientCredit: {}, ledger.DeclineWrongCurrency: {},
}

func newKey() string { return uuid.Must(uuid.NewV7()).String() }

// afterTerminal shows a terminal operation's answer: back to the terminal
// page with the outcome, or the refusal's sentence.
func (h *handlers) afterTerminal(w http.ResponseWriter, r *http.Request, reply terminal.Reply) {
	if status := statusOf(reply.Outcome); status >= 400 {
		var e terminal.APIError
		_ = json.Unmarshal(reply.Body, &e)
		h.errorPage(w, r, status, "That did not work", e.Error.Message)
		return
	}
	var a terminal.Authorisation
	if err := json.Unmarshal(reply.Body, &a); err != nil {
		h.unavailable(w, r, "terminal answer", err)
		return
	}
	q := url.Values{"id": {a.ID}}
	switch a.Status {
	case ledger.StatusPending:
		q.Set("outcome", "approved")
	case ledger.StatusDeclined:
		q.Set("outcome", "declined")
		q.Set("reason", string(a.DeclineReason))
	case ledger.StatusPosted:
		q.Set("outcome", "captured")
	case ledger.StatusVoided:
		q.Set("outcome", "voided")
	}
	http.Redirect(w, r, "/cards/terminal?"+q.Encode(), http.StatusSeeOther)
}
