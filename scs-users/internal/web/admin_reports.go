package web

import (
	"errors"
	"net/http"
	"unicode/utf8"

	"github.com/scs-platform/shared-events/contracts"
	"github.com/scs-platform/shared-events/httpkit/pages"

	"github.com/scs-platform/scs-users/internal/accounts"
	"github.com/scs-platform/scs-users/internal/moderation"
)

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
	pages.Render(w, r, h.logger, status, reportsPage(view))
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
