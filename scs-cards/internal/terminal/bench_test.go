package terminal_test

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/scs-platform/shared-events/testkit/servicetest"

	"github.com/scs-platform/scs-cards/internal/cardstest"
	"github.com/scs-platform/scs-cards/internal/terminal"
)

// BenchmarkAuthorise measures authorisations through the terminal (no HTTP)
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
				s, _ := cardstest.NewSystem(b, db)
				s.Ledger.DefaultLimit = 1 << 50
				ctx := context.Background()
				var cardIDs []string
				for i := range accounts {
					user := cardstest.NewUser(b, db, fmt.Sprintf("Holder %d", i))
					if _, err := s.Cards.OpenAccount(ctx, user, "Bench"); err != nil {
						b.Fatal(err)
					}
					o, err := s.Cards.Overview(ctx, user, 0, 1)
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
						reply, err := s.Terminal.Authorise(ctx, "terminal", cardstest.NewKey(), terminal.AuthoriseRequest{CardID: card, Amount: cardstest.SEK(100), Merchant: "Bench AB"})
						if err != nil || reply.Outcome != terminal.Recorded {
							b.Errorf("%d %s %v", reply.Outcome, reply.Body, err)
							return
						}
					}
				})
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "auth/s")
			})
		}
	}
}
