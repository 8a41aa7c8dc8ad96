package cardstest

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/google/uuid"

	"github.com/scs-platform/shared-events/database/sqldb"

	"github.com/scs-platform/scs-cards/internal/cards"
	"github.com/scs-platform/scs-cards/internal/ledger"
	"github.com/scs-platform/scs-cards/internal/money"
	"github.com/scs-platform/scs-cards/internal/terminal"
)

// NewKey returns a new idempotency key.
func NewKey() string { return uuid.Must(uuid.NewV7()).String() }

// SEK is minor units of Swedish kronor, the test accounts' currency.
func SEK(minor int64) money.Amount { return money.Amount{Minor: minor, Currency: "SEK"} }

// Fixture is a System with one holder who has an account and a card.
type Fixture struct {
	*System
	Clock   *Clock
	DB      *sqldb.DB
	User    string
	Account ledger.Account
	Card    cards.Card
}

// NewFixture migrates db and opens Ada Lovelace's account, with its first
// card.
func NewFixture(t testing.TB, db *sqldb.DB) *Fixture {
	t.Helper()
	s, clock := NewSystem(t, db)
	f := &Fixture{System: s, Clock: clock, DB: db, User: NewUser(t, db, "Ada Lovelace")}
	a, err := s.Cards.OpenAccount(context.Background(), f.User, "Analytical Engines AB")
	if err != nil {
		t.Fatal(err)
	}
	f.Account = a
	f.Card = f.Overview(t).Cards[0]
	return f
}

// Overview is the holder's overview, with as many transactions as a page
// holds.
func (f *Fixture) Overview(t testing.TB) cards.Overview {
	t.Helper()
	o, err := f.Cards.Overview(context.Background(), f.User, 0, ledger.MaxPageSize)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// Authorise authorises minor SEK on card at the terminal.
func (f *Fixture) Authorise(t testing.TB, card string, minor int64) terminal.Authorisation {
	t.Helper()
	reply, err := f.Terminal.Authorise(context.Background(), "terminal", NewKey(), terminal.AuthoriseRequest{CardID: card, Amount: SEK(minor), Merchant: "Kafé Java"})
	if err != nil {
		t.Fatal(err)
	}
	return Decode[terminal.Authorisation](t, reply, terminal.Recorded)
}

// Capture captures minor of the authorisation id (0: all of it).
func (f *Fixture) Capture(t testing.TB, id string, minor int64) terminal.Reply {
	t.Helper()
	reply, err := f.Terminal.Capture(context.Background(), "terminal", NewKey(), terminal.CaptureRequest{AuthorisationID: id, Amount: minor})
	if err != nil {
		t.Fatal(err)
	}
	return reply
}

// Decode checks that reply has the outcome and reads its body.
func Decode[T any](t testing.TB, reply terminal.Reply, outcome terminal.Outcome) T {
	t.Helper()
	var v T
	if reply.Outcome != outcome {
		t.Fatalf("outcome %d, want %d; body %s", reply.Outcome, outcome, reply.Body)
	}
	if err := json.Unmarshal(reply.Body, &v); err != nil {
		t.Fatalf("body %s: %v", reply.Body, err)
	}
	return v
}

// ErrorCode is the code of a refusal's body.
func ErrorCode(t testing.TB, reply terminal.Reply) string {
	t.Helper()
	var e terminal.APIError
	if err := json.Unmarshal(reply.Body, &e); err != nil || e.Error.Code == "" || e.Error.Message == "" {
		t.Fatalf("not an error body: %s (%v)", reply.Body, err)
	}
	return e.Error.Code
}

// CheckLedger asserts that the account's figures are what its ledger adds up
// to: held is the sum of the pending holds, posted the posted purchases less
// the payments.
func CheckLedger(t testing.TB, db *sqldb.DB, accountID string) (posted, held int64) {
	t.Helper()
	var sumHeld, sumPosted int64
	if err := db.QueryRow(`SELECT
			COALESCE(sum(CASE WHEN status = 'pending' THEN amount_minor ELSE 0 END), 0),
			COALESCE(sum(CASE WHEN status = 'posted' AND kind = 'purchase' THEN posted_minor
				WHEN status = 'posted' AND kind = 'payment' THEN -posted_minor ELSE 0 END), 0)
		FROM transactions WHERE account_id = $1`, accountID).Scan(&sumHeld, &sumPosted); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRow(`SELECT posted_minor, held_minor FROM accounts WHERE id = $1`, accountID).Scan(&posted, &held); err != nil {
		t.Fatal(err)
	}
	if posted != sumPosted || held != sumHeld {
		t.Errorf("the account says posted %d, held %d; its ledger adds up to posted %d, held %d", posted, held, sumPosted, sumHeld)
	}
	return posted, held
}

// OutboxTypes counts the events in the outbox by type.
func OutboxTypes(t testing.TB, db *sqldb.DB) map[string]int {
	t.Helper()
	rows, err := db.Query(`SELECT type FROM outbox`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	types := map[string]int{}
	for rows.Next() {
		var typ string
		if err := rows.Scan(&typ); err != nil {
			t.Fatal(err)
		}
		types[typ]++
	}
	return types
}
