package terminal_test

import (
	"context"
	"testing"
	"time"

	"github.com/scs-platform/shared-events/testkit/servicetest"

	"github.com/scs-platform/scs-cards/internal/cards"
	"github.com/scs-platform/scs-cards/internal/cardstest"
	"github.com/scs-platform/scs-cards/internal/ledger"
	"github.com/scs-platform/scs-cards/internal/money"
	"github.com/scs-platform/scs-cards/internal/terminal"
)

func TestAuthorisations(t *testing.T) {
	for _, b := range servicetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			db := b.Open(t)
			f := cardstest.NewFixture(t, db)
			ctx := context.Background()

			a := f.Authorise(t, f.Card.ID, 12_550)
			if !a.Approved || a.Status != ledger.StatusPending || a.ExpiresAt == nil {
				t.Fatalf("authorisation %+v, want approved and pending with an expiry", a)
			}
			if got := f.Overview(t).Account; got.Held != 12_550 || got.Available() != cardstest.Limit-12_550 {
				t.Errorf("after the hold: held %d, available %d", got.Held, got.Available())
			}

			// Declines, each with its reason and recorded in the ledger.
			if d := f.Authorise(t, f.Card.ID, cardstest.Limit); d.Approved || d.DeclineReason != ledger.DeclineInsufficientCredit {
				t.Errorf("more than available: %+v, want declined for insufficient credit", d)
			}
			if d := f.Authorise(t, cardstest.NewKey(), 100); d.Approved || d.DeclineReason != ledger.DeclineUnknownCard {
				t.Errorf("an unknown card: %+v", d)
			}
			reply, err := f.Terminal.Authorise(ctx, "terminal", cardstest.NewKey(), terminal.AuthoriseRequest{CardID: f.Card.ID, Amount: money.Amount{Minor: 100, Currency: "EUR"}, Merchant: "Abroad"})
			if d := cardstest.Decode[terminal.Authorisation](t, reply, terminal.Recorded); err != nil || d.DeclineReason != ledger.DeclineWrongCurrency {
				t.Errorf("another currency: %+v, %v", d, err)
			}
			if err := f.Cards.ChangeCard(ctx, f.User, f.Card.ID, cards.Freeze, ""); err != nil {
				t.Fatal(err)
			}
			if d := f.Authorise(t, f.Card.ID, 100); d.DeclineReason != ledger.DeclineCardFrozen {
				t.Errorf("a frozen card: %+v", d)
			}
			if err := f.Cards.ChangeCard(ctx, f.User, f.Card.ID, cards.Unfreeze, ""); err != nil {
				t.Fatal(err)
			}
			if d := f.Authorise(t, f.Card.ID, 100); !d.Approved {
				t.Errorf("an unfrozen card: %+v", d)
			}
			o := f.Overview(t)
			declined := 0
			for _, tx := range o.Transactions {
				if tx.Status == ledger.StatusDeclined {
					declined++
					if tx.DeclineReason == "" {
						t.Errorf("declined without a reason: %+v", tx)
					}
				}
			}
			if declined != 3 { // the unknown card is nobody's, so in no ledger
				t.Errorf("%d declined transactions in the ledger, want 3", declined)
			}

			// Capture part: the rest of the hold is released.
			if got := cardstest.Decode[terminal.Authorisation](t, f.Capture(t, a.ID, 10_000), terminal.Settled); got.Status != ledger.StatusPosted || got.PostedMinor != 10_000 {
				t.Errorf("capture: %+v", got)
			}
			if code := cardstest.ErrorCode(t, f.Capture(t, a.ID, 0)); code != "not_pending" {
				t.Errorf("a second capture: %s, want not_pending", code)
			}
			big := f.Authorise(t, f.Card.ID, 500)
			if r := f.Capture(t, big.ID, 501); r.Outcome != terminal.Invalid || cardstest.ErrorCode(t, r) != "amount_above_authorised" {
				t.Errorf("capture above the authorised amount: %d %s", r.Outcome, r.Body)
			}
			reply, err = f.Terminal.Void(ctx, "terminal", cardstest.NewKey(), terminal.VoidRequest{AuthorisationID: big.ID})
			if v := cardstest.Decode[terminal.Authorisation](t, reply, terminal.Settled); err != nil || v.Status != ledger.StatusVoided {
				t.Errorf("void: %+v, %v", v, err)
			}
			if r := f.Capture(t, cardstest.NewKey(), 0); r.Outcome != terminal.Unknown || cardstest.ErrorCode(t, r) != "unknown_authorisation" {
				t.Errorf("an unknown authorisation: %d %s", r.Outcome, r.Body)
			}
			posted, held := cardstest.CheckLedger(t, db, f.Account.ID)
			if posted != 10_000 || held != 100 {
				t.Errorf("posted %d, held %d; want 10000 posted and the one pending 100 held", posted, held)
			}
			if got := f.Overview(t).Account.Available(); got != cardstest.Limit-10_100 {
				t.Errorf("available %d, want %d", got, cardstest.Limit-10_100)
			}
		})
	}
}

func TestIdempotency(t *testing.T) {
	for _, b := range servicetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			db := b.Open(t)
			f := cardstest.NewFixture(t, db)
			ctx := context.Background()
			key := cardstest.NewKey()
			req := terminal.AuthoriseRequest{CardID: f.Card.ID, Amount: cardstest.SEK(2_000), Merchant: "Retry AB"}
			first, err := f.Terminal.Authorise(ctx, "terminal", key, req)
			if err != nil {
				t.Fatal(err)
			}
			again, err := f.Terminal.Authorise(ctx, "terminal", key, req)
			if err != nil {
				t.Fatal(err)
			}
			if again.Outcome != first.Outcome || string(again.Body) != string(first.Body) || !again.Replayed {
				t.Errorf("a retry answered %d %s (replayed %v), want the first answer %d %s", again.Outcome, again.Body, again.Replayed, first.Outcome, first.Body)
			}
			if _, held := cardstest.CheckLedger(t, db, f.Account.ID); held != 2_000 {
				t.Errorf("held %d after a retry, want one hold of 2000", held)
			}
			req.Amount = cardstest.SEK(2_001)
			if r, err := f.Terminal.Authorise(ctx, "terminal", key, req); err != nil || r.Outcome != terminal.Invalid || cardstest.ErrorCode(t, r) != "idempotency_key_reused" {
				t.Errorf("the key with another body: %d %s %v, want 422", r.Outcome, r.Body, err)
			}
			// Keys are per caller: an admin's key does not collide with the terminal's.
			if r, err := f.Terminal.Authorise(ctx, "admin:someone", key, req); err != nil || r.Outcome != terminal.Recorded || r.Replayed {
				t.Errorf("the same key of another scope: %d %s %v", r.Outcome, r.Body, err)
			}
		})
	}
}

// TestConcurrentDuplicateAcrossInstances holds a request's key in one
// instance's transaction, as a request still being handled does, and sends
// the duplicate to another instance on the same PostgreSQL database.
func TestConcurrentDuplicateAcrossInstances(t *testing.T) {
	db := servicetest.Postgres(t)
	f := cardstest.NewFixture(t, db)
	other, _ := cardstest.NewSystem(t, db)
	ctx := context.Background()
	key := cardstest.NewKey()
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback() }()
	var got bool
	if err := tx.QueryRowContext(ctx, `SELECT pg_try_advisory_xact_lock(hashtextextended($1, 0))`, "terminal\n"+key).Scan(&got); err != nil || !got {
		t.Fatalf("take the key's lock: %v %v", got, err)
	}
	req := terminal.AuthoriseRequest{CardID: f.Card.ID, Amount: cardstest.SEK(100), Merchant: "Twice AB"}
	r, err := other.Terminal.Authorise(ctx, "terminal", key, req)
	if err != nil || r.Outcome != terminal.Conflicting || cardstest.ErrorCode(t, r) != "request_in_progress" {
		t.Fatalf("the duplicate while the first is in flight: %d %s %v, want 409", r.Outcome, r.Body, err)
	}
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	if r, err := other.Terminal.Authorise(ctx, "terminal", key, req); err != nil || r.Outcome != terminal.Recorded {
		t.Errorf("once the first is gone the key works: %d %s %v", r.Outcome, r.Body, err)
	}
}

func TestExpiry(t *testing.T) {
	for _, b := range servicetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			db := b.Open(t)
			f := cardstest.NewFixture(t, db)
			ctx := context.Background()
			a := f.Authorise(t, f.Card.ID, 5_000)
			f.Authorise(t, f.Card.ID, 7_000)
			f.Clock.Advance(59 * time.Minute)
			if n, err := f.Terminal.ExpireAuthorisations(ctx); err != nil || n != 0 {
				t.Fatalf("expired %d before the TTL, %v", n, err)
			}
			f.Clock.Advance(time.Minute)
			if n, err := f.Terminal.ExpireAuthorisations(ctx); err != nil || n != 2 {
				t.Fatalf("expired %d at the TTL, want 2; %v", n, err)
			}
			if n, err := f.Terminal.ExpireAuthorisations(ctx); err != nil || n != 0 {
				t.Errorf("a second run expired %d more; %v", n, err)
			}
			if r := f.Capture(t, a.ID, 0); r.Outcome != terminal.Conflicting {
				t.Errorf("capture of an expired authorisation: %d %s", r.Outcome, r.Body)
			}
			if _, held := cardstest.CheckLedger(t, db, f.Account.ID); held != 0 {
				t.Errorf("held %d after expiry, want the holds released", held)
			}
			// One that expired before the job saw it is refused all the same.
			c := f.Authorise(t, f.Card.ID, 1_000)
			f.Clock.Advance(2 * time.Hour)
			if r := f.Capture(t, c.ID, 0); r.Outcome != terminal.Conflicting {
				t.Errorf("capture after the TTL, before the job: %d %s", r.Outcome, r.Body)
			}
			if _, held := cardstest.CheckLedger(t, db, f.Account.ID); held != 0 {
				t.Errorf("held %d, want 0", held)
			}
		})
	}
}

func TestForcedPostingOverLimit(t *testing.T) {
	for _, b := range servicetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			db := b.Open(t)
			f := cardstest.NewFixture(t, db)
			ctx := context.Background()
			f.Authorise(t, f.Card.ID, cardstest.Limit-1_000)
			reply, err := f.Terminal.ForcedPosting(ctx, "terminal", cardstest.NewKey(), terminal.ForcedPostingRequest{CardID: f.Card.ID, Amount: cardstest.SEK(3_000), Merchant: "Offline fuel"})
			if p := cardstest.Decode[terminal.Authorisation](t, reply, terminal.Recorded); err != nil || !p.Forced || p.Status != ledger.StatusPosted {
				t.Fatalf("forced posting: %+v %v", p, err)
			}
			a := f.Overview(t).Account
			if !a.OverLimit() || a.Available() != -2_000 {
				t.Errorf("after the forced posting: available %d, over limit %v; want -2000 and over", a.Available(), a.OverLimit())
			}
			if d := f.Authorise(t, f.Card.ID, 1); d.Approved {
				t.Error("an authorisation was approved on an account over its limit")
			}
			// The backstop: no update can take the account further over than a
			// forced posting did.
			if _, err := db.Exec(`UPDATE accounts SET held_minor = held_minor + 1 WHERE id = $1`, f.Account.ID); err == nil {
				t.Error("the CHECK let a hold past the limit through")
			}
			cardstest.CheckLedger(t, db, f.Account.ID)
		})
	}
}
