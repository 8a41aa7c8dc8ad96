package cards_test

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/scs-platform/shared-events/testkit/servicetest"

	"github.com/scs-platform/scs-cards/internal/cards"
	"github.com/scs-platform/scs-cards/internal/cards/cardstest"
)

// BenchmarkAuthorise measures authorisations through the Service (no HTTP)
// from 64 goroutines, spread over 64 accounts and all on one hot account, on
// both databases.
func BenchmarkAuthorise(b *testing.B) {
	for _, backend := range servicetest.Backends() {
		for _, accounts := range []int{64, 1} {
			b.Run(fmt.Sprintf("%s/accounts=%d", backend.Name, accounts), func(b *testing.B) {
				db := backend.Open(b)
				if n := os.Getenv("BENCH_CONNS"); n != "" {
					c, _ := strconv.Atoi(n)
					db.SetMaxOpenConns(c)
				}
				s, _ := cardstest.NewService(b, db)
				s.DefaultLimit = 1 << 50
				ctx := context.Background()
				var cardIDs []string
				for i := range accounts {
					user := cardstest.NewUser(b, db, fmt.Sprintf("Holder %d", i))
					if _, err := s.OpenAccount(ctx, user, "Bench"); err != nil {
						b.Fatal(err)
					}
					o, err := s.Overview(ctx, user, 0, 1)
					if err != nil {
						b.Fatal(err)
					}
					cardIDs = append(cardIDs, o.Cards[0].ID)
				}
				var next atomic.Int64
				b.SetParallelism(max(1, 64/runtime.GOMAXPROCS(0)))
				b.ResetTimer()
				b.RunParallel(func(pb *testing.PB) {
					card := cardIDs[int(next.Add(1))%len(cardIDs)]
					for pb.Next() {
						reply, err := s.Authorise(ctx, "terminal", newKey(), cards.AuthoriseRequest{CardID: card, Amount: sek(100), Merchant: "Bench AB"})
						if err != nil || reply.Status != 201 {
							b.Errorf("%d %s %v", reply.Status, reply.Body, err)
							return
						}
					}
				})
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "auth/s")
			})
		}
	}
}

// BenchmarkOverview reads the overview of an account with 1,000
// transactions, on both databases.
func BenchmarkOverview(b *testing.B) {
	for _, backend := range servicetest.Backends() {
		b.Run(backend.Name, func(b *testing.B) {
			db := backend.Open(b)
			s, _ := cardstest.NewService(b, db)
			ctx := context.Background()
			user := cardstest.NewUser(b, db, "Busy Holder")
			if _, err := s.OpenAccount(ctx, user, "Busy"); err != nil {
				b.Fatal(err)
			}
			o, err := s.Overview(ctx, user, 0, 1)
			if err != nil {
				b.Fatal(err)
			}
			for i := range 1000 {
				reply, err := s.Authorise(ctx, "terminal", newKey(), cards.AuthoriseRequest{CardID: o.Cards[0].ID, Amount: sek(int64(100 + i)), Merchant: "Shop"})
				if err != nil || reply.Status != 201 {
					b.Fatal(reply.Status, err)
				}
			}
			b.ResetTimer()
			for b.Loop() {
				if _, err := s.Overview(ctx, user, 0, cards.DefaultPageSize); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
