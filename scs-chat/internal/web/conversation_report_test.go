package web_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/scs-platform/shared-events/contracts"
)

func TestReport(t *testing.T) {
	s := newSite(t)
	ada, bob, id := s.pair(t)
	page := "/chat/conversations/" + id
	reports := func() int {
		return s.count(`SELECT count(*) FROM outbox WHERE type = $1`, contracts.TypeReportFiledV1)
	}

	for _, tc := range []struct{ name, reason, want string }{
		{"empty", "", "Say what happened"},
		{"blank", "  \n ", "Say what happened"},
		{"too long", strings.Repeat("x", contracts.ReportMaxReasonLength+1), "at most"},
		{"a right-to-left embedding", "he said \u202bsorry", "The reason contains an invisible character that reverses text direction (U+202B); remove it."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := ada.post(page+"/report", "reason", tc.reason)
			if msg := find(t, r.body, "error-reason"); r.status != http.StatusBadRequest || !strings.Contains(text(msg), tc.want) {
				t.Fatalf("%d, error-reason %q, want 400 saying %q", r.status, text(msg), tc.want)
			}
			if v, _ := textareaValue(t, r.body, "reason"); strings.TrimLeft(v, "\n") != strings.TrimLeft(tc.reason, "\n") {
				t.Errorf("the reason's textarea holds %q, want what was typed", v)
			}
			if n := reports(); n != 0 {
				t.Errorf("%d reports filed", n)
			}
		})
	}

	r := ada.post(page+"/report", "reason", "Rude to me.")
	if r.status != http.StatusSeeOther || r.location != page+"?done=reported" {
		t.Fatalf("report: %d to %q, want 303 to %s?done=reported\n%s", r.status, r.location, page, r.body)
	}
	var data string
	if err := s.db.QueryRowContext(context.Background(), `SELECT data FROM outbox WHERE type = $1`, contracts.TypeReportFiledV1).Scan(&data); err != nil {
		t.Fatal(err)
	}
	var filed contracts.ReportFiledV1
	if err := json.Unmarshal([]byte(data), &filed); err != nil {
		t.Fatal(err)
	}
	if filed.ReporterID != ada.id || filed.ReportedUserID != bob.id || filed.ConversationID != id || filed.Reason != "Rude to me." {
		t.Errorf("the event says %+v", filed)
	}
	r = ada.get(r.location)
	if !strings.Contains(text(find(t, r.body, "done")), "The report is with the moderators") || find(t, r.body, "compose") == nil {
		t.Errorf("after the report: done %q; the conversation goes on", text(find(t, r.body, "done")))
	}
}
