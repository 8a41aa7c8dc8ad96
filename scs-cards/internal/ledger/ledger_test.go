package ledger_test

import (
	"context"
	"testing"
	"time"

	"github.com/scs-platform/shared-events/contracts"
	"github.com/scs-platform/shared-events/testkit/servicetest"

	"github.com/scs-platform/scs-cards/internal/cardstest"
	"github.com/scs-platform/scs-cards/internal/ledger"
)

// TestCheckBackstop takes the conditional update away and shows that the
// CHECK alone refuses a hold past the limit.
func TestCheckBackstop(t *testing.T) {
	for _, b := range servicetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			db := b.Open(t)
			f := cardstest.NewFixture(t, db)
			if _, err := db.Exec(`UPDATE accounts SET held_minor = $2 WHERE id = $1`, f.Account.ID, cardstest.Limit); err != nil {
				t.Fatalf("a hold of exactly the limit: %v", err)
			}
			if _, err := db.Exec(`UPDATE accounts SET held_minor = $2 WHERE id = $1`, f.Account.ID, cardstest.Limit+1); err == nil {
				t.Error("the CHECK let a hold of the limit + 1 through")
			}
		})
	}
}

func TestStatements(t *testing.T) {
	for _, b := range servicetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			db := b.Open(t)
			f := cardstest.NewFixture(t, db)
			ctx := context.Background()
			a := f.Authorise(t, f.Card.ID, 30_000)
			f.Capture(t, a.ID, 0)
			pending := f.Authorise(t, f.Card.ID, 1_000) // not posted: in no statement
			if n, err := f.Ledger.CloseStatements(ctx); err != nil || n != 0 {
				t.Fatalf("closed %d statements before the period ended; %v", n, err)
			}
			f.Clock.Advance(time.Minute)
			if n, err := f.Ledger.CloseStatements(ctx); err != nil || n != 1 {
				t.Fatalf("closed %d statements, want 1; %v", n, err)
			}
			if n, err := f.Ledger.CloseStatements(ctx); err != nil || n != 0 {
				t.Errorf("a second run closed %d more; %v", n, err)
			}
			o := f.Overview(t)
			if len(o.Statements) != 1 {
				t.Fatalf("statements %+v", o.Statements)
			}
			st := o.Statements[0]
			if st.Opening != 0 || st.Purchases != 30_000 || st.Payments != 0 || st.Closing != 30_000 || st.Due != 30_000 {
				t.Errorf("statement %+v, want 30000 in purchases and due", st)
			}
			wantDue := ledger.DueDate(st.PeriodEnd, 25)
			if st.DueDate != wantDue || st.DueDate != st.PeriodEnd.AddDate(0, 0, 25).Format(time.DateOnly) {
				t.Errorf("due %s, want 25 days after the period's end: %s", st.DueDate, wantDue)
			}
			if o.SpentThisPeriod != 0 {
				t.Errorf("spent this period %d right after the statement, want 0", o.SpentThisPeriod)
			}
			// An issued statement never changes.
			if _, err := db.Exec(`UPDATE statements SET due_minor = 1 WHERE id = $1`, st.ID); err == nil {
				t.Error("an issued statement was updated")
			}

			// Paying restores the available credit; paying twice is refused.
			before := o.Account.Available()
			paid, err := f.Ledger.Pay(ctx, f.User, st.ID)
			if err != nil || paid != 30_000 {
				t.Fatalf("Pay: %d, %v", paid, err)
			}
			if got := f.Overview(t).Account.Available(); got != before+30_000 {
				t.Errorf("available %d after paying, want %d", got, before+30_000)
			}
			if _, err := f.Ledger.Pay(ctx, f.User, st.ID); err == nil {
				t.Error("a paid statement was paid again")
			}
			if got := f.Overview(t).Statements[0]; got.Status("2000-01-01") != ledger.StatementPaid {
				t.Errorf("status %q, want paid", got.Status("2000-01-01"))
			}

			// The payment falls in the next period's statement, with the
			// opening balance carried over.
			f.Capture(t, pending.ID, 0)
			f.Clock.Advance(time.Minute)
			if n, err := f.Ledger.CloseStatements(ctx); err != nil || n != 1 {
				t.Fatalf("closed %d statements, want 1; %v", n, err)
			}
			next := f.Overview(t).Statements[0]
			if next.Opening != 30_000 || next.Purchases != 1_000 || next.Payments != 30_000 || next.Closing != 1_000 {
				t.Errorf("second statement %+v, want opening 30000, purchases 1000, payments 30000, closing 1000", next)
			}
			// Quiet periods get no statement, however many passed.
			f.Clock.Advance(24 * time.Hour)
			if n, err := f.Ledger.CloseStatements(ctx); err != nil || n != 0 {
				t.Errorf("a quiet day closed %d statements; %v", n, err)
			}
			if types := cardstest.OutboxTypes(t, db); types[contracts.TypeStatementIssuedV1] != 2 {
				t.Errorf("outbox %v, want two statements issued", types)
			}
			cardstest.CheckLedger(t, db, f.Account.ID)
		})
	}
}
