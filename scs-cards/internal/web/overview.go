package web

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/scs-platform/scs-cards/internal/ledger"
	"github.com/scs-platform/shared-events/httpkit/pages"
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
	pages.Render(w, r, h.logger, http.StatusOK, overviewPage(OverviewView{
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
