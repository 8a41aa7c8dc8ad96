package web_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/scs-platform/shared-events/contracts"
	"github.com/scs-platform/shared-events/testkit/servicetest"

	"github.com/scs-platform/scs-cards/internal/cardstest"
)

const summaryPath = "/cards/fragments/summary/v1"

// checkNoLayout fails t when a fragment carries a page's frame.
func checkNoLayout(t testing.TB, fragment string) {
	t.Helper()
	for _, frame := range []string{"<!doctype", "<html", "<head", "<body", "<nav", "<title", `data-testid="nav-user"`} {
		if strings.Contains(strings.ToLower(fragment), frame) {
			t.Errorf("the fragment has a layout (%s): %s", frame, fragment)
		}
	}
}

// TestSummaryFragmentRefusals: a script fetches the fragment, so a request
// it cannot answer gets a status, never a redirect to a login form, and is
// never kept by a cache.
func TestSummaryFragmentRefusals(t *testing.T) {
	s := newSite(t, servicetest.SQLite(t))
	banned := s.user("Banned", contracts.RoleUser)
	banned.openAccount()
	if _, err := s.db.Exec(`UPDATE users_replica SET status = 'banned' WHERE user_id = $1`, banned.id); err != nil {
		t.Fatal(err)
	}
	// A user the replica does not know yet: a moment after signing up.
	newcomer := s.tokenFor(newKey(), contracts.RoleUser)
	for _, tc := range []struct {
		name, token string
		status      int
	}{
		{"no session", "", http.StatusUnauthorized},
		{"a token that is not one", "not.a.token", http.StatusUnauthorized},
		{"a banned user", banned.token, http.StatusUnauthorized},
		{"a user the replica does not know yet", newcomer, http.StatusServiceUnavailable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := &browser{site: s, token: tc.token}
			status, h, body := b.do(http.MethodGet, summaryPath, nil)
			if status != tc.status || h.Get("Location") != "" || h.Get("Cache-Control") != "no-store" || h.Get("Vary") != "Cookie" {
				t.Errorf("%d to %q, Cache-Control %q, Vary %q; want %d, no redirect, no-store, Vary: Cookie", status, h.Get("Location"), h.Get("Cache-Control"), h.Get("Vary"), tc.status)
			}
			if strings.Contains(body, "cards-summary") {
				t.Errorf("a refusal shows a summary: %s", body)
			}
			if tc.status == http.StatusServiceUnavailable && h.Get("Retry-After") == "" {
				t.Error("no Retry-After on the 503")
			}
		})
	}
}

// TestSummaryFragmentStates: no account (the link to open one), an account
// (available of limit and active cards), each user's own, without a layout,
// private and revalidated.
func TestSummaryFragmentStates(t *testing.T) {
	s := newSite(t, servicetest.SQLite(t))
	ada := s.user("Ada", contracts.RoleUser)

	status, h, body := ada.do(http.MethodGet, summaryPath, nil)
	if status != http.StatusOK || count(body, "cards-open") != 1 || !strings.Contains(body, `<a href="/cards/" data-testid="cards-open">Open a card account</a>`) {
		t.Errorf("no account: %d %s, want the link that opens one", status, body)
	}
	checkNoLayout(t, body)
	if h.Get("Cache-Control") != "private, no-cache" || h.Get("Vary") != "Cookie" || h.Get("ETag") == "" {
		t.Errorf("no account: headers %v", h)
	}
	noAccount := h.Get("ETag")

	card := ada.openAccount()
	s.authorise(card.ID, 12_345, "Kiosk")
	status, h, body = ada.do(http.MethodGet, summaryPath, nil)
	if status != http.StatusOK || text(body, "cards-available") != sek(cardstest.Limit-12_345) || !strings.Contains(body, "of "+sek(cardstest.Limit)) ||
		!strings.Contains(body, "1 active card") || count(body, "cards-link") != 1 || count(body, "cards-open") != 0 {
		t.Errorf("with an account: %d %s", status, body)
	}
	checkNoLayout(t, body)
	checkNoCardNumber(t, body)
	if h.Get("Cache-Control") != "private, no-cache" || h.Get("Vary") != "Cookie" || h.Get("ETag") == noAccount ||
		h.Get("Content-Type") != "text/html; charset=utf-8" || h.Get("Content-Security-Policy") == "" {
		t.Errorf("with an account: headers %v", h)
	}
	if !strings.Contains(body, `href="/cards/static/fragment.css"`) || strings.Contains(body, "<script") {
		t.Error("the fragment does not bring its own stylesheet, or brings a script")
	}

	// Another user sees their own summary, not Ada's.
	eve := s.user("Eve", contracts.RoleUser)
	if _, _, body := eve.do(http.MethodGet, summaryPath, nil); count(body, "cards-open") != 1 || strings.Contains(body, "cards-available") {
		t.Errorf("Eve, without an account, is shown %s", body)
	}
}
