package terminal_test

import (
	"context"
	"encoding/json"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/scs-platform/shared-events/testkit/servicetest"

	"github.com/scs-platform/scs-cards/internal/cardstest"
	"github.com/scs-platform/scs-cards/internal/terminal"
)

// TestConcurrentAuthorisations sends 64 goroutines of authorisations with
// random amounts at one account, capturing or voiding some of them as they
// go, on two instances (two terminals on one database). However they
// interleave, the approved holds never pass the limit, every approval and
// capture is in the account's figures (no lost update), and the figures are
// what the ledger adds up to.
func TestConcurrentAuthorisations(t *testing.T) {
	for _, b := range servicetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			db := b.Open(t)
			f := cardstest.NewFixture(t, db)
			second, _ := cardstest.NewSystem(t, db)
			instances := []*terminal.Service{f.Terminal, second.Terminal}
			ctx := context.Background()
			const workers, perWorker = 64, 12

			var mu sync.Mutex
			var approved, captured, voided int64
			var wg sync.WaitGroup
			errs := make(chan error, workers)
			for w := range workers {
				wg.Go(func() {
					rng := rand.New(rand.NewPCG(uint64(w), 7))
					s := instances[w%2]
					for range perWorker {
						amount := 1 + rng.Int64N(cardstest.Limit/200)
						reply, err := s.Authorise(ctx, "terminal", cardstest.NewKey(), terminal.AuthoriseRequest{CardID: f.Card.ID, Amount: cardstest.SEK(amount), Merchant: "Load AB"})
						if err != nil {
							errs <- err
							return
						}
						var a terminal.Authorisation
						if err := json.Unmarshal(reply.Body, &a); err != nil || reply.Outcome != terminal.Recorded {
							errs <- err
							return
						}
						if !a.Approved {
							continue
						}
						mu.Lock()
						approved += amount
						mu.Unlock()
						switch rng.IntN(3) {
						case 0:
							if _, err := s.Capture(ctx, "terminal", cardstest.NewKey(), terminal.CaptureRequest{AuthorisationID: a.ID}); err != nil {
								errs <- err
								return
							}
							mu.Lock()
							captured += amount
							mu.Unlock()
						case 1:
							if _, err := s.Void(ctx, "terminal", cardstest.NewKey(), terminal.VoidRequest{AuthorisationID: a.ID}); err != nil {
								errs <- err
								return
							}
							mu.Lock()
							voided += amount
							mu.Unlock()
						}
					}
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatal(err)
			}
			posted, held := cardstest.CheckLedger(t, db, f.Account.ID)
			if posted+held > cardstest.Limit {
				t.Errorf("posted %d + held %d passes the limit %d", posted, held, cardstest.Limit)
			}
			if posted != captured || held != approved-captured-voided {
				t.Errorf("posted %d, held %d; the workers captured %d and left %d pending: an update was lost", posted, held, captured, approved-captured-voided)
			}
			// The amounts were chosen so that the account runs out: some were
			// declined, or the test proved nothing about the limit.
			var declined int
			if err := db.QueryRow(`SELECT count(*) FROM transactions WHERE account_id = $1 AND decline_reason = 'insufficient_credit'`, f.Account.ID).Scan(&declined); err != nil {
				t.Fatal(err)
			}
			if declined == 0 || approved-voided < cardstest.Limit/2 {
				t.Errorf("%d declined for credit, %d approved and kept: the limit was never reached", declined, approved-voided)
			}
		})
	}
}
