package web

import (
	"errors"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/scs-platform/shared-events/contracts"
	"github.com/scs-platform/shared-events/httpkit/pages"

	"github.com/scs-platform/scs-users/internal/accounts"
)

// adminPageSize is how many rows an admin list shows.
const adminPageSize = 50

func userRow(u accounts.User) AdminUserRow {
	return AdminUserRow{ID: u.ID, Email: u.Email, DisplayName: u.DisplayName, Role: string(u.Role), Status: string(u.Status),
		Created: u.CreatedAt.Format("2 Jan 2006")}
}

// findUsers serves GET /users/admin/users?q=...
func (h *handlers) findUsers(w http.ResponseWriter, r *http.Request) {
	v, _ := viewerFrom(r.Context())
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	if utf8.RuneCountInString(q) > 200 {
		h.errorPage(w, r, http.StatusBadRequest, "Search too long", "Search for at most 200 characters.")
		return
	}
	users, err := h.accounts.FindUsers(r.Context(), q, adminPageSize+1)
	if err != nil {
		h.unavailable(w, r, "find users", err)
		return
	}
	view := AdminUsersView{Page: page("Users", v), Query: q, Limited: len(users) > adminPageSize}
	for _, u := range users[:min(len(users), adminPageSize)] {
		view.Users = append(view.Users, userRow(u))
	}
	pages.Render(w, r, h.logger, http.StatusOK, adminUsersPage(view))
}

// adminUser serves GET /users/admin/users/{id}.
func (h *handlers) adminUser(w http.ResponseWriter, r *http.Request) {
	h.renderAdminUser(w, r, http.StatusOK, "", nil, "")
}

func (h *handlers) renderAdminUser(w http.ResponseWriter, r *http.Request, status int, reason string, errs accounts.FieldErrors, roleError string) {
	v, _ := viewerFrom(r.Context())
	u, err := h.accounts.UserByID(r.Context(), r.PathValue("id"))
	if errors.Is(err, accounts.ErrNotFound) || (err == nil && u.Status == contracts.StatusDeleted) {
		h.errorPage(w, r, http.StatusNotFound, "No such user", "There is no account with this id, or it was deleted.")
		return
	}
	if err != nil {
		h.unavailable(w, r, "read user", err)
		return
	}
	history, err := h.accounts.History(r.Context(), u.ID)
	if err != nil {
		h.unavailable(w, r, "read history", err)
		return
	}
	reports, err := h.moderation.About(r.Context(), u.ID, adminPageSize)
	if err != nil {
		h.unavailable(w, r, "read reports", err)
		return
	}
	p := page(u.DisplayName, v)
	p.Done = doneMessage(r)
	view := AdminUserView{
		Page: p, User: userRow(u), Banned: u.Status == contracts.StatusBanned, IsSelf: u.ID == v.user.ID,
		Reason: Field{Name: "reason", Label: "Reason", Value: reason, Error: errs["reason"], MaxLength: accounts.MaxReasonLength,
			Hint: "The user's history keeps it."},
		RoleError: roleError,
	}
	for _, a := range history {
		actor := a.ActorName
		if a.ActorID == "" {
			actor = "the command line"
		}
		view.History = append(view.History, HistoryRow{Action: a.Action, Detail: a.Detail, Actor: actor, At: a.At.Format("2 Jan 2006 15:04 MST")})
	}
	for _, rp := range reports {
		view.Reports = append(view.Reports, reportRow(rp))
	}
	pages.Render(w, r, h.logger, status, adminUserPage(view))
}
