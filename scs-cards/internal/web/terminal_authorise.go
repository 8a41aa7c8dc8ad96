package web

import (
	"net/http"
	"strings"

	"github.com/scs-platform/scs-cards/internal/money"
	"github.com/scs-platform/scs-cards/internal/terminal"
)

// terminalAuthorise answers POST /cards/terminal/authorisations: an admin authorises a purchase from the terminal page.
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
