package web

import (
	"net/http"
	"slices"
	"time"

	"github.com/scs-platform/scs-users/internal/accounts"
	"github.com/scs-platform/scs-users/internal/password"
	"github.com/scs-platform/shared-events/httpkit/pages"
)

// cardsSummaryFragment is scs-cards' account summary, transcluded in the
// account page. It is a versioned contract with scs-cards: a new major version
// gets a new address, served side by side.
const cardsSummaryFragment = "/cards/fragments/summary/v1"

// accountForms are the account page's forms, as typed and as refused.
type accountForms struct {
	name          string
	nameErrors    accounts.FieldErrors
	passwordError accounts.FieldErrors
}

// accountView builds the account page for v with the forms' state.
func (h *handlers) accountView(r *http.Request, v viewer, f accountForms) (AccountView, error) {
	sessions, err := h.accounts.Sessions(r.Context(), v.user.ID)
	if err != nil {
		return AccountView{}, err
	}
	name := f.name
	if f.nameErrors == nil {
		name = v.user.DisplayName
	}
	p := page("Your account", v)
	p.Done = doneMessage(r)
	p.Script = "include.js"
	view := AccountView{
		Page:  p,
		Email: v.user.Email,
		Name: Field{Name: "display_name", Label: "Your name", Value: name, Error: f.nameErrors["display_name"],
			Hint: "Other people see it.", Autocomplete: "nickname", MaxLength: accounts.MaxDisplayNameLength},
		Current: Field{Name: "current_password", Label: "Current password", Type: "password",
			Error: f.passwordError["current_password"], Autocomplete: "current-password", MaxLength: password.MaxLength},
		New: Field{Name: "new_password", Label: "New password", Type: "password", Error: f.passwordError["new_password"],
			Hint: "At least 8 characters; 15 or more is better.", Autocomplete: "new-password", MaxLength: password.MaxLength},
	}
	now := time.Now()
	// This device first, then the others, the most recently used first.
	slices.SortStableFunc(sessions, func(a, b accounts.Session) int {
		return boolRank(b.ID == v.session.ID) - boolRank(a.ID == v.session.ID)
	})
	for _, s := range sessions {
		view.Sessions = append(view.Sessions, SessionRow{
			ID: s.ID, Device: describeDevice(s.UserAgent), IP: s.IP,
			LastSeen: ago(now, s.LastSeen), Started: ago(now, s.CreatedAt), Current: s.ID == v.session.ID,
		})
	}
	return view, nil
}

// account serves GET /users/account.
func (h *handlers) account(w http.ResponseWriter, r *http.Request) {
	h.renderAccount(w, r, http.StatusOK, accountForms{})
}

func (h *handlers) renderAccount(w http.ResponseWriter, r *http.Request, status int, f accountForms) {
	v, _ := viewerFrom(r.Context())
	view, err := h.accountView(r, v, f)
	if err != nil {
		h.unavailable(w, r, "list sessions", err)
		return
	}
	pages.Render(w, r, h.logger, status, accountPage(view))
}

func boolRank(b bool) int {
	if b {
		return 1
	}
	return 0
}
