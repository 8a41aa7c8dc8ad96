package cards_test

import (
	"context"
	"testing"

	"github.com/scs-platform/shared-events/testkit/servicetest"

	"github.com/scs-platform/scs-cards/internal/cardstest"
	"github.com/scs-platform/scs-cards/internal/ledger"
	"github.com/scs-platform/scs-cards/internal/terminal"
)

// BenchmarkOverview reads the overview of an account with 1,000
// transactions, on both databases.
func BenchmarkOverview(b *testing.B) {
	for _, backend := range servicetest.Backends() {
		b.Run(backend.Name, func(b *testing.B) {
			db := backend.Open(b)
			s, _ := cardstest.NewSystem(b, db)
			ctx := context.Background()
			user := cardstest.NewUser(b, db, "Busy Holder")
			if _, err := s.Cards.OpenAccount(ctx, user, "Busy"); err != nil {
				b.Fatal(err)
			}
			o, err := s.Cards.Overview(ctx, user, 0, 1)
			if err != nil {
				b.Fatal(err)
			}
			for i := range 1000 {
				reply, err := s.Terminal.Authorise(ctx, "terminal", cardstest.NewKey(), terminal.AuthoriseRequest{CardID: o.Cards[0].ID, Amount: cardstest.SEK(int64(100 + i)), Merchant: "Shop"})
				if err != nil || reply.Outcome != terminal.Recorded {
					b.Fatal(reply.Outcome, err)
				}
			}
			b.ResetTimer()
			for b.Loop() {
				if _, err := s.Cards.Overview(ctx, user, 0, ledger.DefaultPageSize); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
