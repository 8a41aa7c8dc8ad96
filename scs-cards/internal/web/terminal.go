package web

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"

	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"

	"github.com/scs-platform/shared-events/contracts"

	"github.com/scs-platform/scs-cards/internal/ledger"
	"github.com/scs-platform/scs-cards/internal/money"
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
	render(w, r, h.logger, status, terminalPage(v))
}

var declineReasons = map[ledger.DeclineReason]struct{}{
	ledger.DeclineUnknownCard: {}, ledger.DeclineCardFrozen: {}, ledger.DeclineCardCancelled: {},
	ledger.DeclineAccountClosed: {}, ledger.DeclineInsufficientCredit: {}, ledger.DeclineWrongCurrency: {},
}

func newKey() string { return uuid.Must(uuid.NewV7()).String() }

func (h *handlers) terminalAuthorise(w http.ResponseWriter, r *http.Request) {
	if !h.adminOnly(w, r) || !h.parseForm(w, r) {
		return
	}
	f := terminalForm{
		Key: r.PostFormValue("key"), CardID: r.PostFormValue("card_id"), Amount: r.PostFormValue("amount"),
		Currency: r.PostFormValue("currency"), Merchant: r.PostFormValue("merchant"), Errors: map[string]string{},
	}
	if bad := checkKey(f.Key); bad != nil {
		h.errorPage(w, r, http.StatusBadRequest, "The form is incomplete", "This form has lost its key. Open the terminal page again and send it from there.")
		return
	}
	req := terminal.AuthoriseRequest{CardID: strings.ToLower(f.CardID)}
	if !isUUID(f.CardID) {
		f.Errors["card_id"] = "Enter the card's reference, as its holder's card page shows it."
	}
	c, err := money.ParseCurrency(f.Currency)
	if err != nil {
		f.Errors["currency"] = err.Error()
	} else if req.Amount, err = money.Parse(f.Amount, c); err != nil {
		f.Errors["amount"] = err.Error()
	} else if req.Amount.Minor == 0 {
		f.Errors["amount"] = "Enter an amount above zero."
	}
	merchant, bad := checkMerchant(f.Merchant)
	if bad != nil {
		f.Errors["merchant"] = bad.message
	}
	req.Merchant = merchant
	if len(f.Errors) > 0 {
		h.terminalPage(w, r, http.StatusUnprocessableEntity, f)
		return
	}
	reply, err := h.merchant.Authorise(r.Context(), adminScope(r), f.Key, req)
	if err != nil {
		h.unavailable(w, r, "authorise", err)
		return
	}
	h.afterTerminal(w, r, reply)
}

func (h *handlers) terminalSettle(w http.ResponseWriter, r *http.Request) {
	if !h.adminOnly(w, r) || !h.parseForm(w, r) {
		return
	}
	key := r.PostFormValue("key")
	if bad := checkKey(key); bad != nil {
		h.errorPage(w, r, http.StatusBadRequest, "The form is incomplete", "This form has lost its key. Open the terminal page again and send it from there.")
		return
	}
	id := chi.URLParam(r, "id")
	var reply terminal.Reply
	var err error
	if chi.URLParam(r, "action") == "capture" {
		reply, err = h.merchant.Capture(r.Context(), adminScope(r), key, terminal.CaptureRequest{AuthorisationID: id})
	} else {
		reply, err = h.merchant.Void(r.Context(), adminScope(r), key, terminal.VoidRequest{AuthorisationID: id})
	}
	if err != nil {
		h.unavailable(w, r, "settle", err)
		return
	}
	h.afterTerminal(w, r, reply)
}

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
