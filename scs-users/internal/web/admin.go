package web

import (
	"errors"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/scs-platform/shared-events/contracts"

	"github.com/scs-platform/scs-users/internal/accounts"
	"github.com/scs-platform/scs-users/internal/moderation"
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
	render(w, r, h.logger, http.StatusOK, adminUsersPage(view))
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
	render(w, r, h.logger, status, adminUserPage(view))
}

// banUser serves POST /users/admin/users/{id}/ban.
func (h *handlers) banUser(w http.ResponseWriter, r *http.Request) {
	h.moderate(w, r, "banned", func(actor, id, reason string) error { return h.accounts.Ban(r.Context(), actor, id, reason) })
}

// unbanUser serves POST /users/admin/users/{id}/unban.
func (h *handlers) unbanUser(w http.ResponseWriter, r *http.Request) {
	h.moderate(w, r, "unbanned", func(actor, id, reason string) error { return h.accounts.Unban(r.Context(), actor, id, reason) })
}

func (h *handlers) moderate(w http.ResponseWriter, r *http.Request, done string, act func(actor, id, reason string) error) {
	if !h.parseForm(w, r) {
		return
	}
	v, _ := viewerFrom(r.Context())
	id, reason := r.PathValue("id"), r.PostForm.Get("reason")
	err := act(v.user.ID, id, reason)
	var errs accounts.FieldErrors
	switch {
	case errors.As(err, &errs):
		h.renderAdminUser(w, r, http.StatusUnprocessableEntity, reason, errs, "")
		return
	case errors.Is(err, accounts.ErrSelf):
		h.renderAdminUser(w, r, http.StatusConflict, reason, accounts.FieldErrors{"reason": "You cannot ban yourself."}, "")
		return
	case err != nil:
		h.failed(w, r, done, err)
		return
	}
	h.logger.Info("moderation", "action", done, "user", id, "admin", v.user.ID)
	http.Redirect(w, r, "/users/admin/users/"+id+"?done="+done, http.StatusSeeOther)
}

// setRole serves POST /users/admin/users/{id}/role.
func (h *handlers) setRole(w http.ResponseWriter, r *http.Request) {
	if !h.parseForm(w, r) {
		return
	}
	v, _ := viewerFrom(r.Context())
	id := r.PathValue("id")
	err := h.accounts.SetRole(r.Context(), v.user.ID, id, contracts.Role(r.PostForm.Get("role")))
	var errs accounts.FieldErrors
	switch {
	case errors.As(err, &errs):
		h.renderAdminUser(w, r, http.StatusUnprocessableEntity, "", nil, errs["role"])
		return
	case errors.Is(err, accounts.ErrLastAdmin):
		h.renderAdminUser(w, r, http.StatusConflict, "", nil, "This is the only admin. Make someone else admin first.")
		return
	case err != nil:
		h.failed(w, r, "set role", err)
		return
	}
	h.logger.Info("moderation", "action", "role", "role", r.PostForm.Get("role"), "user", id, "admin", v.user.ID)
	http.Redirect(w, r, "/users/admin/users/"+id+"?done=role", http.StatusSeeOther)
}

const banReasonPrefix = "Reported in chat: "

func reportRow(rp moderation.Report) ReportRow {
	reported := rp.ReportedName
	switch {
	case rp.ReportedStatus == "":
		reported = "an unknown user"
	case rp.ReportedStatus == contracts.StatusDeleted:
		reported = "a deleted user"
	}
	reporter := rp.ReporterName
	if reporter == "" {
		reporter = "a user who is gone"
	}
	banReason := banReasonPrefix + rp.Reason
	if utf8.RuneCountInString(banReason) > accounts.MaxReasonLength {
		banReason = string([]rune(banReason)[:accounts.MaxReasonLength-1]) + "…"
	}
	return ReportRow{ID: rp.ID, Reason: rp.Reason, Reporter: reporter, Reported: reported, ReportedID: rp.ReportedID,
		ReportedEmail: rp.ReportedEmail, At: rp.ReportedAt.Format("2 Jan 2006 15:04 MST"), Status: rp.Status,
		BanReason: banReason, CanBan: rp.ReportedStatus == contracts.StatusActive}
}

// reports serves GET /users/admin/reports: the open reports, oldest first.
func (h *handlers) reports(w http.ResponseWriter, r *http.Request) {
	h.renderReports(w, r, http.StatusOK, "")
}

func (h *handlers) renderReports(w http.ResponseWriter, r *http.Request, status int, formError string) {
	v, _ := viewerFrom(r.Context())
	open, err := h.moderation.Open(r.Context(), adminPageSize)
	if err != nil {
		h.unavailable(w, r, "read reports", err)
		return
	}
	p := page("Moderation queue", v)
	p.Done = doneMessage(r)
	view := ReportsView{Page: p, Error: formError}
	for _, rp := range open {
		view.Reports = append(view.Reports, reportRow(rp))
	}
	render(w, r, h.logger, status, reportsPage(view))
}

// dismissReport serves POST /users/admin/reports/{id}/dismiss.
func (h *handlers) dismissReport(w http.ResponseWriter, r *http.Request) {
	v, _ := viewerFrom(r.Context())
	h.resolved(w, r, "dismiss", h.moderation.Dismiss(r.Context(), v.user.ID, r.PathValue("id")))
}

// banReported serves POST /users/admin/reports/{id}/ban: the reported user is
// banned and their open reports close.
func (h *handlers) banReported(w http.ResponseWriter, r *http.Request) {
	if !h.parseForm(w, r) {
		return
	}
	v, _ := viewerFrom(r.Context())
	h.resolved(w, r, "banned", h.moderation.BanReported(r.Context(), v.user.ID, r.PathValue("id"), r.PostForm.Get("reason")))
}

func (h *handlers) resolved(w http.ResponseWriter, r *http.Request, done string, err error) {
	var errs accounts.FieldErrors
	switch {
	case errors.As(err, &errs):
		h.renderReports(w, r, http.StatusUnprocessableEntity, "The ban needs a reason: "+errs["reason"])
		return
	case errors.Is(err, moderation.ErrResolved):
		h.renderReports(w, r, http.StatusConflict, "Another admin dealt with that report already.")
		return
	case errors.Is(err, accounts.ErrSelf):
		h.renderReports(w, r, http.StatusConflict, "You cannot ban yourself.")
		return
	case err != nil:
		h.failed(w, r, "resolve report", err)
		return
	}
	http.Redirect(w, r, "/users/admin/reports?done="+done, http.StatusSeeOther)
}
