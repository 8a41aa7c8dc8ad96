package web_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/scs-platform/shared-events/contracts"
	"github.com/scs-platform/shared-events/identity/authn"
	"github.com/scs-platform/shared-events/testkit/servicetest"
)

// BenchmarkOverviewPage renders GET /cards/ for a holder with a page of
// transactions, in process: the gate (token and replica), the overview's
// queries and the template.
//
//	go test -run - -bench OverviewPage -cpuprofile cpu.out ./internal/web/
func BenchmarkOverviewPage(b *testing.B) {
	s := newSite(b, servicetest.SQLite(b))
	ada := s.user("Ada", contracts.RoleUser)
	card := ada.openAccount()
	for i := range 30 {
		s.authorise(card.ID, int64(100+i), "Shop")
	}
	h := s.Config.Handler
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req := httptest.NewRequest(http.MethodGet, s.URL+"/cards/", nil)
			req.AddCookie(&http.Cookie{Name: authn.CookieName, Value: ada.token})
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != http.StatusOK {
				b.Fatalf("GET /cards/: %d", rec.Code)
			}
		}
	})
}
