package reactions_test

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"github.com/scs-platform/shared-events/contracts"
	"github.com/scs-platform/shared-events/database/sqldb"
	"github.com/scs-platform/shared-events/testkit/servicetest"

	"github.com/scs-platform/scs-cards/internal/cards"
	"github.com/scs-platform/scs-cards/internal/cardstest"
	"github.com/scs-platform/scs-cards/internal/ledger"
	"github.com/scs-platform/scs-cards/internal/reactions"
)

// apply runs the users consumer's handler for p in a transaction, as the
// consumer does for a delivery.
func apply(t *testing.T, db *sqldb.DB, s *cardstest.System, p contracts.Payload) {
	t.Helper()
	ev, err := contracts.NewEvent(p, 2)
	if err != nil {
		t.Fatal(err)
	}
	handler := reactions.UsersHandlers(s.Cards, s.Ledger)[ev.Type]
	if err := db.InTx(context.Background(), func(tx *sql.Tx) error { return handler(context.Background(), tx, ev) }); err != nil {
		t.Fatalf("apply %s: %v", ev.Type, err)
	}
}

func updated(userID, name string, status contracts.Status, change contracts.UserChange) contracts.UserUpdatedV1 {
	return contracts.UserUpdatedV1{
		UserSnapshot: contracts.UserSnapshot{UserID: userID, DisplayName: name, Role: contracts.RoleUser, Status: status, TokensValidAfter: time.Now().UTC()},
		Changes:      []contracts.UserChange{change},
	}
}

func statuses(t *testing.T, f *cardstest.Fixture) map[string]contracts.CardStatus {
	t.Helper()
	m := map[string]contracts.CardStatus{}
	for _, c := range f.Overview(t).Cards {
		m[c.ID] = c.Status
	}
	return m
}

func TestUsersReplica(t *testing.T) {
	for _, b := range servicetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			db := b.Open(t)
			f := cardstest.NewFixture(t, db)
			ctx := context.Background()
			own, err := f.Cards.IssueVirtualCard(ctx, f.User)
			if err != nil {
				t.Fatal(err)
			}
			if err := f.Cards.ChangeCard(ctx, f.User, own.ID, cards.Freeze, ""); err != nil {
				t.Fatal(err)
			}

			// A rename shows on the card art at once.
			apply(t, db, f.System, updated(f.User, "Ada King", contracts.StatusActive, contracts.UserChangeDisplayName))
			if c := f.Overview(t).Cards[0]; c.Holder != "Ada King" {
				t.Errorf("holder %q after the rename, want Ada King", c.Holder)
			}

			// A ban freezes the active card; the holder cannot unfreeze it.
			apply(t, db, f.System, updated(f.User, "Ada King", contracts.StatusBanned, contracts.UserChangeStatus))
			if s := statuses(t, f); s[f.Card.ID] != contracts.CardFrozen || s[own.ID] != contracts.CardFrozen {
				t.Fatalf("after the ban: %v, want both frozen", s)
			}
			if err := f.Cards.ChangeCard(ctx, f.User, f.Card.ID, cards.Unfreeze, ""); err == nil {
				t.Error("the holder unfroze a card the ban froze")
			}
			if d := f.Authorise(t, f.Card.ID, 100); d.DeclineReason != ledger.DeclineCardFrozen {
				t.Errorf("a banned holder's card: %+v, want declined as frozen", d)
			}
			// Redelivered, the ban changes nothing more.
			apply(t, db, f.System, updated(f.User, "Ada King", contracts.StatusBanned, contracts.UserChangeStatus))

			// The unban unfreezes what the ban froze, not the holder's own freeze.
			apply(t, db, f.System, updated(f.User, "Ada King", contracts.StatusActive, contracts.UserChangeStatus))
			if s := statuses(t, f); s[f.Card.ID] != contracts.CardActive || s[own.ID] != contracts.CardFrozen {
				t.Errorf("after the unban: %v, want the first card active and the holder's frozen one still frozen", s)
			}
			changes, err := f.Cards.CardChanges(ctx, f.User, f.Card.ID)
			if err != nil {
				t.Fatal(err)
			}
			if len(changes) != 2 || changes[1].Actor != contracts.ActorSystem || changes[1].Reason == "" {
				t.Errorf("the card's changes %+v, want the ban's freeze and unfreeze by the system with reasons", changes)
			}

			// A purchase, then deletion: cards cancelled, account closed, the
			// records kept under the opaque id.
			a := f.Authorise(t, f.Card.ID, 2_500)
			f.Capture(t, a.ID, 0)
			apply(t, db, f.System, contracts.UserDeletedV1{UserID: f.User, DeletedAt: time.Now().UTC()})
			apply(t, db, f.System, contracts.UserDeletedV1{UserID: f.User, DeletedAt: time.Now().UTC()}) // redelivered
			o := f.Overview(t)
			if o.Account.Open() || o.Account.ClosedReason != string(contracts.ClosedUserDeleted) {
				t.Errorf("account %+v, want closed for the deletion", o.Account)
			}
			for _, c := range o.Cards {
				if c.Status != contracts.CardCancelled || c.Holder != "" {
					t.Errorf("card %+v, want cancelled with no holder name", c)
				}
			}
			if len(o.Transactions) == 0 || o.Account.Posted != 2_500 {
				t.Errorf("the financial records went with the user: %d transactions, posted %d", len(o.Transactions), o.Account.Posted)
			}
			if d := f.Authorise(t, f.Card.ID, 100); d.Approved {
				t.Errorf("a deleted holder's card was approved: %+v", d)
			}
			types := cardstest.OutboxTypes(t, db)
			if types[contracts.TypeAccountClosedV1] != 1 {
				t.Errorf("outbox %v, want one account closed", types)
			}
			cardstest.CheckLedger(t, db, f.Account.ID)
		})
	}
}
