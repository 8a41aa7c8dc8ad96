package web

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/scs-platform/scs-cards/internal/cards"
	"github.com/scs-platform/scs-cards/internal/ledger"
	"github.com/scs-platform/scs-cards/internal/money"
)

// overview is the account overview, or the form to open an account.
func (h *handlers) overview(w http.ResponseWriter, r *http.Request) {
	before, ok := h.cursor(w, r)
	if !ok {
		return
	}
	o, err := h.cards.Overview(r.Context(), user(r).UserID, before, ledger.DefaultPageSize)
	if errors.Is(err, ledger.ErrNoAccount) {
		h.openForm(w, r, http.StatusOK, openForm{Name: "Business account"})
		return
	}
	if err != nil {
		h.unavailable(w, r, "overview", err)
		return
	}
	render(w, r, h.logger, http.StatusOK, overviewPage(OverviewView{
		Page: page(r, o.Account.Name), Overview: o, Today: h.today(), Before: before,
	}))
}

// today is the service's date, "YYYY-MM-DD", against which a statement is due
// or overdue: the service's clock, which also dates its statements, rather
// than the wall clock.
func (h *handlers) today() string {
	now := time.Now
	if h.ledger.Now != nil {
		now = h.ledger.Now
	}
	return now().UTC().Format(time.DateOnly)
}

// cursor reads ?before=, the keyset of the transactions' page: 0 (the
// newest) or a positive whole number. On a bad one it has answered.
func (h *handlers) cursor(w http.ResponseWriter, r *http.Request) (int64, bool) {
	v := r.URL.Query().Get("before")
	if v == "" {
		return 0, true
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 1 {
		h.errorPage(w, r, http.StatusBadRequest, "Bad address", "The address points at a page of transactions that cannot exist. Go back to your card account and page from there.")
		return 0, false
	}
	return n, true
}

// openForm is the "open an account" form and its errors.
type openForm struct {
	Name   string
	Errors map[string]string
}

func (h *handlers) openForm(w http.ResponseWriter, r *http.Request, status int, f openForm) {
	render(w, r, h.logger, status, openPage(OpenView{
		Page: page(r, "Open a card account"), Form: f,
		Limit: money.Amount{Minor: h.ledger.DefaultLimit, Currency: h.ledger.Currency},
	}))
}

func (h *handlers) openAccount(w http.ResponseWriter, r *http.Request) {
	if !h.parseForm(w, r) {
		return
	}
	f := openForm{Name: r.PostFormValue("name")}
	_, err := h.cards.OpenAccount(r.Context(), user(r).UserID, f.Name)
	if ue, ok := errors.AsType[*ledger.UserError](err); ok && ue.Field != "" {
		f.Errors = map[string]string{ue.Field: ue.Message}
		h.openForm(w, r, http.StatusUnprocessableEntity, f)
		return
	}
	if err != nil {
		h.failed(w, r, "open an account", err)
		return
	}
	http.Redirect(w, r, "/cards/?done=opened", http.StatusSeeOther)
}

func (h *handlers) issueCard(w http.ResponseWriter, r *http.Request) {
	if !h.parseForm(w, r) {
		return
	}
	if _, err := h.cards.IssueVirtualCard(r.Context(), user(r).UserID); err != nil {
		h.failed(w, r, "issue a card", err)
		return
	}
	http.Redirect(w, r, "/cards/?done=issued", http.StatusSeeOther)
}

// card is a card's own page: its art, its history, and its cancellation.
func (h *handlers) card(w http.ResponseWriter, r *http.Request) {
	h.cardPage(w, r, http.StatusOK, "")
}

func (h *handlers) cardPage(w http.ResponseWriter, r *http.Request, status int, reasonError string) {
	id := chi.URLParam(r, "id")
	c, err := h.cards.Card(r.Context(), user(r).UserID, id)
	if err != nil {
		h.failed(w, r, "card", err)
		return
	}
	changes, err := h.cards.CardChanges(r.Context(), user(r).UserID, id)
	if err != nil {
		h.failed(w, r, "card", err)
		return
	}
	render(w, r, h.logger, status, cardPage(CardView{
		Page: page(r, "Card ending in "+c.Last4), Card: c, Changes: changes,
		Reason: r.PostFormValue("reason"), ReasonError: reasonError,
	}))
}

var changeDone = map[string]string{cards.Freeze: "frozen", cards.Unfreeze: "unfrozen", cards.Cancel: "cancelled"}

func (h *handlers) changeCard(w http.ResponseWriter, r *http.Request) {
	if !h.parseForm(w, r) {
		return
	}
	id, change := chi.URLParam(r, "id"), chi.URLParam(r, "change")
	err := h.cards.ChangeCard(r.Context(), user(r).UserID, id, change, r.PostFormValue("reason"))
	if ue, ok := errors.AsType[*ledger.UserError](err); ok && ue.Field == "reason" {
		h.cardPage(w, r, http.StatusUnprocessableEntity, ue.Message)
		return
	}
	if err != nil {
		h.failed(w, r, "change a card", err)
		return
	}
	to := "/cards/?done=" + changeDone[change]
	if change == cards.Cancel {
		to = "/cards/cards/" + id + "?done=cancelled"
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
}

func (h *handlers) pay(w http.ResponseWriter, r *http.Request) {
	if !h.parseForm(w, r) {
		return
	}
	if _, err := h.ledger.Pay(r.Context(), user(r).UserID, chi.URLParam(r, "id")); err != nil {
		h.failed(w, r, "pay a statement", err)
		return
	}
	http.Redirect(w, r, "/cards/?done=paid", http.StatusSeeOther)
}
