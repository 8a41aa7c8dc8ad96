package web

import (
	"errors"
	"net/http"

	"github.com/scs-platform/scs-cards/internal/ledger"
	"github.com/scs-platform/scs-cards/internal/money"
	"github.com/scs-platform/shared-events/httpkit/pages"
)

// openForm is the "open an account" form and its errors.
type openForm struct {
	Name   string
	Errors map[string]string
}

func (h *handlers) openForm(w http.ResponseWriter, r *http.Request, status int, f openForm) {
	pages.Render(w, r, h.logger, status, openPage(OpenView{
		Page: page(r, "Open a card account"), Form: f,
		Limit: money.Amount{Minor: h.ledger.DefaultLimit, Currency: h.ledger.Currency},
	}))
}

// openAccount answers POST /cards/account: it opens the holder's account, or shows the form again with what is wrong.
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
