package cards_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/scs-platform/shared-events/contracts"
	"github.com/scs-platform/shared-events/testkit/servicetest"

	"github.com/scs-platform/scs-cards/internal/cards"
	"github.com/scs-platform/scs-cards/internal/cardstest"
	"github.com/scs-platform/scs-cards/internal/ledger"
)

func TestOpenAccount(t *testing.T) {
	for _, b := range servicetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			db := b.Open(t)
			f := cardstest.NewFixture(t, db)
			ctx := context.Background()
			o := f.Overview(t)
			a := o.Account
			if a.Name != "Analytical Engines AB" || a.Limit != cardstest.Limit || a.Currency != "SEK" || a.Available() != cardstest.Limit || !a.Open() {
				t.Errorf("account %+v, want SEK 50,000.00 limit, all available, open", a)
			}
			if len(o.Cards) != 1 || o.Cards[0].Kind != contracts.CardPhysical || o.Cards[0].Status != contracts.CardActive || o.Cards[0].Holder != "Ada Lovelace" {
				t.Errorf("cards %+v, want one active physical card held by Ada Lovelace", o.Cards)
			}
			if c := o.Cards[0]; len(c.Last4) != 4 || len(c.Expires) != 7 {
				t.Errorf("card %+v: want 4 last digits and an expiry YYYY-MM", c)
			}
			if _, err := f.Cards.OpenAccount(ctx, f.User, "Again"); !errors.Is(err, ledger.ErrHasAccount) {
				t.Errorf("a second account: %v, want ErrHasAccount", err)
			}
			other := cardstest.NewUser(t, db, "Bob")
			for _, name := range []string{"", "   ", string(make([]rune, ledger.MaxAccountName+1))} {
				if _, err := f.Cards.OpenAccount(ctx, other, name); err == nil {
					t.Errorf("OpenAccount(%q) succeeded", name)
				} else if ue, ok := errors.AsType[*ledger.UserError](err); !ok || ue.Field != "name" {
					t.Errorf("OpenAccount(%q): %v, want a UserError about the name", name, err)
				}
			}
			virtual, err := f.Cards.IssueVirtualCard(ctx, f.User)
			if err != nil || virtual.Kind != contracts.CardVirtual {
				t.Fatalf("IssueVirtualCard: %+v, %v", virtual, err)
			}
			if _, err := f.Cards.IssueVirtualCard(ctx, other); !errors.Is(err, ledger.ErrNoAccount) {
				t.Errorf("a card without an account: %v, want ErrNoAccount", err)
			}
			types := cardstest.OutboxTypes(t, db)
			if types[contracts.TypeAccountOpenedV1] != 1 || types[contracts.TypeCardIssuedV1] != 2 {
				t.Errorf("outbox %v, want one account opened and two cards issued", types)
			}
		})
	}
}

func TestAccessControl(t *testing.T) {
	for _, b := range servicetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			db := b.Open(t)
			f := cardstest.NewFixture(t, db)
			ctx := context.Background()
			a := f.Authorise(t, f.Card.ID, 1_000)
			f.Capture(t, a.ID, 0)
			f.Clock.Advance(time.Minute)
			if _, err := f.Ledger.CloseStatements(ctx); err != nil {
				t.Fatal(err)
			}
			st := f.Overview(t).Statements[0]

			eve := cardstest.NewUser(t, db, "Eve")
			if _, err := f.Cards.OpenAccount(ctx, eve, "Eve's"); err != nil {
				t.Fatal(err)
			}
			if _, err := f.Cards.Card(ctx, eve, f.Card.ID); !errors.Is(err, ledger.ErrNotFound) {
				t.Errorf("Eve reads Ada's card: %v", err)
			}
			if _, err := f.Cards.CardChanges(ctx, eve, f.Card.ID); !errors.Is(err, ledger.ErrNotFound) {
				t.Errorf("Eve reads Ada's card's history: %v", err)
			}
			for _, change := range []string{cards.Freeze, cards.Unfreeze, cards.Cancel} {
				if err := f.Cards.ChangeCard(ctx, eve, f.Card.ID, change, "mine now"); !errors.Is(err, ledger.ErrNotFound) {
					t.Errorf("Eve %ss Ada's card: %v", change, err)
				}
			}
			if _, err := f.Ledger.Pay(ctx, eve, st.ID); !errors.Is(err, ledger.ErrNotFound) {
				t.Errorf("Eve pays Ada's statement: %v", err)
			}
			o := f.Overview(t)
			if o.Cards[0].Status != contracts.CardActive || o.Statements[0].Paid != 0 {
				t.Errorf("Ada's card or statement changed: %+v %+v", o.Cards[0], o.Statements[0])
			}
			eo, err := f.Cards.Overview(ctx, eve, 0, 50)
			if err != nil {
				t.Fatal(err)
			}
			if len(eo.Transactions) != 0 || len(eo.Statements) != 0 || len(eo.Cards) != 1 || eo.Cards[0].UserID != eve {
				t.Errorf("Eve's overview shows what is not hers: %+v", eo)
			}
		})
	}
}

func TestCardChanges(t *testing.T) {
	for _, b := range servicetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			db := b.Open(t)
			f := cardstest.NewFixture(t, db)
			ctx := context.Background()
			if err := f.Cards.ChangeCard(ctx, f.User, f.Card.ID, cards.Cancel, ""); err == nil {
				t.Error("a cancellation without a reason went through")
			}
			for _, change := range []string{cards.Freeze, cards.Freeze, cards.Unfreeze} {
				if err := f.Cards.ChangeCard(ctx, f.User, f.Card.ID, change, ""); err != nil {
					t.Fatalf("%s: %v", change, err)
				}
			}
			if err := f.Cards.ChangeCard(ctx, f.User, f.Card.ID, cards.Cancel, "Lost on the train"); err != nil {
				t.Fatal(err)
			}
			if err := f.Cards.ChangeCard(ctx, f.User, f.Card.ID, cards.Unfreeze, ""); err == nil {
				t.Error("a cancelled card was made active again")
			}
			changes, err := f.Cards.CardChanges(ctx, f.User, f.Card.ID)
			if err != nil {
				t.Fatal(err)
			}
			// The second freeze changed nothing, so it is not recorded.
			if len(changes) != 3 || changes[0].To != contracts.CardCancelled || changes[0].Reason != "Lost on the train" ||
				changes[0].Actor != contracts.ActorHolder || changes[2].To != contracts.CardFrozen {
				t.Errorf("changes %+v, want freeze, unfreeze, cancel (newest first) by the holder", changes)
			}
			if types := cardstest.OutboxTypes(t, db); types[contracts.TypeCardStatusChangedV1] != 3 {
				t.Errorf("outbox %v, want three status changes", types)
			}
		})
	}
}
