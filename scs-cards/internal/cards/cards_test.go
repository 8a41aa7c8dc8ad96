package cards_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/scs-platform/shared-events/contracts"
	"github.com/scs-platform/shared-events/database/sqldb"
	"github.com/scs-platform/shared-events/testkit/servicetest"

	"github.com/scs-platform/scs-cards/internal/cards"
	"github.com/scs-platform/scs-cards/internal/cards/cardstest"
	"github.com/scs-platform/scs-cards/internal/money"
)

func newKey() string { return uuid.Must(uuid.NewV7()).String() }

func sek(minor int64) money.Amount { return money.Amount{Minor: minor, Currency: "SEK"} }

// fixture is a service with one holder who has an account and a card.
type fixture struct {
	s       *cards.Service
	clock   *cardstest.Clock
	db      *sqldb.DB
	user    string
	account cards.Account
	card    cards.Card
}

func newFixture(t *testing.T, db *sqldb.DB) *fixture {
	t.Helper()
	s, clock := cardstest.NewService(t, db)
	f := &fixture{s: s, clock: clock, db: db, user: cardstest.NewUser(t, db, "Ada Lovelace")}
	a, err := s.OpenAccount(context.Background(), f.user, "Analytical Engines AB")
	if err != nil {
		t.Fatal(err)
	}
	f.account = a
	f.card = f.overview(t).Cards[0]
	return f
}

func (f *fixture) overview(t *testing.T) cards.Overview {
	t.Helper()
	o, err := f.s.Overview(context.Background(), f.user, 0, cards.MaxPageSize)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func (f *fixture) authorise(t *testing.T, card string, minor int64) cards.Authorisation {
	t.Helper()
	reply, err := f.s.Authorise(context.Background(), "terminal", newKey(), cards.AuthoriseRequest{CardID: card, Amount: sek(minor), Merchant: "Kafé Java"})
	if err != nil {
		t.Fatal(err)
	}
	return decode[cards.Authorisation](t, reply, http.StatusCreated)
}

func (f *fixture) capture(t *testing.T, id string, minor int64) cards.Reply {
	t.Helper()
	reply, err := f.s.Capture(context.Background(), "terminal", newKey(), cards.CaptureRequest{AuthorisationID: id, Amount: minor})
	if err != nil {
		t.Fatal(err)
	}
	return reply
}

func decode[T any](t *testing.T, reply cards.Reply, status int) T {
	t.Helper()
	var v T
	if reply.Status != status {
		t.Fatalf("status %d, want %d; body %s", reply.Status, status, reply.Body)
	}
	if err := json.Unmarshal(reply.Body, &v); err != nil {
		t.Fatalf("body %s: %v", reply.Body, err)
	}
	return v
}

func errorCode(t *testing.T, reply cards.Reply) string {
	t.Helper()
	var e cards.APIError
	if err := json.Unmarshal(reply.Body, &e); err != nil || e.Error.Code == "" || e.Error.Message == "" {
		t.Fatalf("not an error body: %s (%v)", reply.Body, err)
	}
	return e.Error.Code
}

// checkLedger asserts that the account's figures are what its ledger adds up
// to: held is the sum of the pending holds, posted the posted purchases less
// the payments.
func checkLedger(t *testing.T, db *sqldb.DB, accountID string) (posted, held int64) {
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

func outboxTypes(t *testing.T, db *sqldb.DB) map[string]int {
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

func TestOpenAccount(t *testing.T) {
	for _, b := range servicetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			db := b.Open(t)
			f := newFixture(t, db)
			ctx := context.Background()
			o := f.overview(t)
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
			if _, err := f.s.OpenAccount(ctx, f.user, "Again"); !errors.Is(err, cards.ErrHasAccount) {
				t.Errorf("a second account: %v, want ErrHasAccount", err)
			}
			other := cardstest.NewUser(t, db, "Bob")
			for _, name := range []string{"", "   ", string(make([]rune, cards.MaxAccountName+1))} {
				if _, err := f.s.OpenAccount(ctx, other, name); err == nil {
					t.Errorf("OpenAccount(%q) succeeded", name)
				} else if ue, ok := errors.AsType[*cards.UserError](err); !ok || ue.Field != "name" {
					t.Errorf("OpenAccount(%q): %v, want a UserError about the name", name, err)
				}
			}
			virtual, err := f.s.IssueVirtualCard(ctx, f.user)
			if err != nil || virtual.Kind != contracts.CardVirtual {
				t.Fatalf("IssueVirtualCard: %+v, %v", virtual, err)
			}
			if _, err := f.s.IssueVirtualCard(ctx, other); !errors.Is(err, cards.ErrNoAccount) {
				t.Errorf("a card without an account: %v, want ErrNoAccount", err)
			}
			types := outboxTypes(t, db)
			if types[contracts.TypeAccountOpenedV1] != 1 || types[contracts.TypeCardIssuedV1] != 2 {
				t.Errorf("outbox %v, want one account opened and two cards issued", types)
			}
		})
	}
}

func TestAuthorisations(t *testing.T) {
	for _, b := range servicetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			db := b.Open(t)
			f := newFixture(t, db)
			ctx := context.Background()

			a := f.authorise(t, f.card.ID, 12_550)
			if !a.Approved || a.Status != cards.StatusPending || a.ExpiresAt == nil {
				t.Fatalf("authorisation %+v, want approved and pending with an expiry", a)
			}
			if got := f.overview(t).Account; got.Held != 12_550 || got.Available() != cardstest.Limit-12_550 {
				t.Errorf("after the hold: held %d, available %d", got.Held, got.Available())
			}

			// Declines, each with its reason and recorded in the ledger.
			if d := f.authorise(t, f.card.ID, cardstest.Limit); d.Approved || d.DeclineReason != cards.DeclineInsufficientCredit {
				t.Errorf("more than available: %+v, want declined for insufficient credit", d)
			}
			if d := f.authorise(t, newKey(), 100); d.Approved || d.DeclineReason != cards.DeclineUnknownCard {
				t.Errorf("an unknown card: %+v", d)
			}
			reply, err := f.s.Authorise(ctx, "terminal", newKey(), cards.AuthoriseRequest{CardID: f.card.ID, Amount: money.Amount{Minor: 100, Currency: "EUR"}, Merchant: "Abroad"})
			if d := decode[cards.Authorisation](t, reply, http.StatusCreated); err != nil || d.DeclineReason != cards.DeclineWrongCurrency {
				t.Errorf("another currency: %+v, %v", d, err)
			}
			if err := f.s.ChangeCard(ctx, f.user, f.card.ID, cards.Freeze, ""); err != nil {
				t.Fatal(err)
			}
			if d := f.authorise(t, f.card.ID, 100); d.DeclineReason != cards.DeclineCardFrozen {
				t.Errorf("a frozen card: %+v", d)
			}
			if err := f.s.ChangeCard(ctx, f.user, f.card.ID, cards.Unfreeze, ""); err != nil {
				t.Fatal(err)
			}
			if d := f.authorise(t, f.card.ID, 100); !d.Approved {
				t.Errorf("an unfrozen card: %+v", d)
			}
			o := f.overview(t)
			declined := 0
			for _, tx := range o.Transactions {
				if tx.Status == cards.StatusDeclined {
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
			if got := decode[cards.Authorisation](t, f.capture(t, a.ID, 10_000), http.StatusOK); got.Status != cards.StatusPosted || got.PostedMinor != 10_000 {
				t.Errorf("capture: %+v", got)
			}
			if code := errorCode(t, f.capture(t, a.ID, 0)); code != "not_pending" {
				t.Errorf("a second capture: %s, want not_pending", code)
			}
			big := f.authorise(t, f.card.ID, 500)
			if r := f.capture(t, big.ID, 501); r.Status != http.StatusUnprocessableEntity || errorCode(t, r) != "amount_above_authorised" {
				t.Errorf("capture above the authorised amount: %d %s", r.Status, r.Body)
			}
			reply, err = f.s.Void(ctx, "terminal", newKey(), cards.VoidRequest{AuthorisationID: big.ID})
			if v := decode[cards.Authorisation](t, reply, http.StatusOK); err != nil || v.Status != cards.StatusVoided {
				t.Errorf("void: %+v, %v", v, err)
			}
			if r := f.capture(t, newKey(), 0); r.Status != http.StatusNotFound || errorCode(t, r) != "unknown_authorisation" {
				t.Errorf("an unknown authorisation: %d %s", r.Status, r.Body)
			}
			posted, held := checkLedger(t, db, f.account.ID)
			if posted != 10_000 || held != 100 {
				t.Errorf("posted %d, held %d; want 10000 posted and the one pending 100 held", posted, held)
			}
			if got := f.overview(t).Account.Available(); got != cardstest.Limit-10_100 {
				t.Errorf("available %d, want %d", got, cardstest.Limit-10_100)
			}
		})
	}
}

func TestIdempotency(t *testing.T) {
	for _, b := range servicetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			db := b.Open(t)
			f := newFixture(t, db)
			ctx := context.Background()
			key := newKey()
			req := cards.AuthoriseRequest{CardID: f.card.ID, Amount: sek(2_000), Merchant: "Retry AB"}
			first, err := f.s.Authorise(ctx, "terminal", key, req)
			if err != nil {
				t.Fatal(err)
			}
			again, err := f.s.Authorise(ctx, "terminal", key, req)
			if err != nil {
				t.Fatal(err)
			}
			if again.Status != first.Status || string(again.Body) != string(first.Body) || !again.Replayed {
				t.Errorf("a retry answered %d %s (replayed %v), want the first answer %d %s", again.Status, again.Body, again.Replayed, first.Status, first.Body)
			}
			if _, held := checkLedger(t, db, f.account.ID); held != 2_000 {
				t.Errorf("held %d after a retry, want one hold of 2000", held)
			}
			req.Amount = sek(2_001)
			if r, err := f.s.Authorise(ctx, "terminal", key, req); err != nil || r.Status != http.StatusUnprocessableEntity || errorCode(t, r) != "idempotency_key_reused" {
				t.Errorf("the key with another body: %d %s %v, want 422", r.Status, r.Body, err)
			}
			// Keys are per caller: an admin's key does not collide with the terminal's.
			if r, err := f.s.Authorise(ctx, "admin:someone", key, req); err != nil || r.Status != http.StatusCreated || r.Replayed {
				t.Errorf("the same key of another scope: %d %s %v", r.Status, r.Body, err)
			}
		})
	}
}

// TestConcurrentDuplicateAcrossInstances holds a request's key in one
// instance's transaction, as a request still being handled does, and sends
// the duplicate to another instance on the same PostgreSQL database.
func TestConcurrentDuplicateAcrossInstances(t *testing.T) {
	db := servicetest.Postgres(t)
	f := newFixture(t, db)
	other, _ := cardstest.NewService(t, db)
	ctx := context.Background()
	key := newKey()
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback() }()
	var got bool
	if err := tx.QueryRowContext(ctx, `SELECT pg_try_advisory_xact_lock(hashtextextended($1, 0))`, "terminal\n"+key).Scan(&got); err != nil || !got {
		t.Fatalf("take the key's lock: %v %v", got, err)
	}
	req := cards.AuthoriseRequest{CardID: f.card.ID, Amount: sek(100), Merchant: "Twice AB"}
	r, err := other.Authorise(ctx, "terminal", key, req)
	if err != nil || r.Status != http.StatusConflict || errorCode(t, r) != "request_in_progress" {
		t.Fatalf("the duplicate while the first is in flight: %d %s %v, want 409", r.Status, r.Body, err)
	}
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	if r, err := other.Authorise(ctx, "terminal", key, req); err != nil || r.Status != http.StatusCreated {
		t.Errorf("once the first is gone the key works: %d %s %v", r.Status, r.Body, err)
	}
}

func TestExpiry(t *testing.T) {
	for _, b := range servicetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			db := b.Open(t)
			f := newFixture(t, db)
			ctx := context.Background()
			a := f.authorise(t, f.card.ID, 5_000)
			f.authorise(t, f.card.ID, 7_000)
			f.clock.Advance(59 * time.Minute)
			if n, err := f.s.ExpireAuthorisations(ctx); err != nil || n != 0 {
				t.Fatalf("expired %d before the TTL, %v", n, err)
			}
			f.clock.Advance(time.Minute)
			if n, err := f.s.ExpireAuthorisations(ctx); err != nil || n != 2 {
				t.Fatalf("expired %d at the TTL, want 2; %v", n, err)
			}
			if n, err := f.s.ExpireAuthorisations(ctx); err != nil || n != 0 {
				t.Errorf("a second run expired %d more; %v", n, err)
			}
			if r := f.capture(t, a.ID, 0); r.Status != http.StatusConflict {
				t.Errorf("capture of an expired authorisation: %d %s", r.Status, r.Body)
			}
			if _, held := checkLedger(t, db, f.account.ID); held != 0 {
				t.Errorf("held %d after expiry, want the holds released", held)
			}
			// One that expired before the job saw it is refused all the same.
			c := f.authorise(t, f.card.ID, 1_000)
			f.clock.Advance(2 * time.Hour)
			if r := f.capture(t, c.ID, 0); r.Status != http.StatusConflict {
				t.Errorf("capture after the TTL, before the job: %d %s", r.Status, r.Body)
			}
			if _, held := checkLedger(t, db, f.account.ID); held != 0 {
				t.Errorf("held %d, want 0", held)
			}
		})
	}
}

func TestForcedPostingOverLimit(t *testing.T) {
	for _, b := range servicetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			db := b.Open(t)
			f := newFixture(t, db)
			ctx := context.Background()
			f.authorise(t, f.card.ID, cardstest.Limit-1_000)
			reply, err := f.s.ForcedPosting(ctx, "terminal", newKey(), cards.ForcedPostingRequest{CardID: f.card.ID, Amount: sek(3_000), Merchant: "Offline fuel"})
			if p := decode[cards.Authorisation](t, reply, http.StatusCreated); err != nil || !p.Forced || p.Status != cards.StatusPosted {
				t.Fatalf("forced posting: %+v %v", p, err)
			}
			a := f.overview(t).Account
			if !a.OverLimit() || a.Available() != -2_000 {
				t.Errorf("after the forced posting: available %d, over limit %v; want -2000 and over", a.Available(), a.OverLimit())
			}
			if d := f.authorise(t, f.card.ID, 1); d.Approved {
				t.Error("an authorisation was approved on an account over its limit")
			}
			// The backstop: no update can take the account further over than a
			// forced posting did.
			if _, err := db.Exec(`UPDATE accounts SET held_minor = held_minor + 1 WHERE id = $1`, f.account.ID); err == nil {
				t.Error("the CHECK let a hold past the limit through")
			}
			checkLedger(t, db, f.account.ID)
		})
	}
}

// TestCheckBackstop takes the conditional update away and shows that the
// CHECK alone refuses a hold past the limit.
func TestCheckBackstop(t *testing.T) {
	for _, b := range servicetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			db := b.Open(t)
			f := newFixture(t, db)
			if _, err := db.Exec(`UPDATE accounts SET held_minor = $2 WHERE id = $1`, f.account.ID, cardstest.Limit); err != nil {
				t.Fatalf("a hold of exactly the limit: %v", err)
			}
			if _, err := db.Exec(`UPDATE accounts SET held_minor = $2 WHERE id = $1`, f.account.ID, cardstest.Limit+1); err == nil {
				t.Error("the CHECK let a hold of the limit + 1 through")
			}
		})
	}
}

func TestStatements(t *testing.T) {
	for _, b := range servicetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			db := b.Open(t)
			f := newFixture(t, db)
			ctx := context.Background()
			a := f.authorise(t, f.card.ID, 30_000)
			f.capture(t, a.ID, 0)
			pending := f.authorise(t, f.card.ID, 1_000) // not posted: in no statement
			if n, err := f.s.CloseStatements(ctx); err != nil || n != 0 {
				t.Fatalf("closed %d statements before the period ended; %v", n, err)
			}
			f.clock.Advance(time.Minute)
			if n, err := f.s.CloseStatements(ctx); err != nil || n != 1 {
				t.Fatalf("closed %d statements, want 1; %v", n, err)
			}
			if n, err := f.s.CloseStatements(ctx); err != nil || n != 0 {
				t.Errorf("a second run closed %d more; %v", n, err)
			}
			o := f.overview(t)
			if len(o.Statements) != 1 {
				t.Fatalf("statements %+v", o.Statements)
			}
			st := o.Statements[0]
			if st.Opening != 0 || st.Purchases != 30_000 || st.Payments != 0 || st.Closing != 30_000 || st.Due != 30_000 {
				t.Errorf("statement %+v, want 30000 in purchases and due", st)
			}
			wantDue := cards.DueDate(st.PeriodEnd, 25)
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
			paid, err := f.s.Pay(ctx, f.user, st.ID)
			if err != nil || paid != 30_000 {
				t.Fatalf("Pay: %d, %v", paid, err)
			}
			if got := f.overview(t).Account.Available(); got != before+30_000 {
				t.Errorf("available %d after paying, want %d", got, before+30_000)
			}
			if _, err := f.s.Pay(ctx, f.user, st.ID); err == nil {
				t.Error("a paid statement was paid again")
			}
			if got := f.overview(t).Statements[0]; got.Status("2000-01-01") != cards.StatementPaid {
				t.Errorf("status %q, want paid", got.Status("2000-01-01"))
			}

			// The payment falls in the next period's statement, with the
			// opening balance carried over.
			f.capture(t, pending.ID, 0)
			f.clock.Advance(time.Minute)
			if n, err := f.s.CloseStatements(ctx); err != nil || n != 1 {
				t.Fatalf("closed %d statements, want 1; %v", n, err)
			}
			next := f.overview(t).Statements[0]
			if next.Opening != 30_000 || next.Purchases != 1_000 || next.Payments != 30_000 || next.Closing != 1_000 {
				t.Errorf("second statement %+v, want opening 30000, purchases 1000, payments 30000, closing 1000", next)
			}
			// Quiet periods get no statement, however many passed.
			f.clock.Advance(24 * time.Hour)
			if n, err := f.s.CloseStatements(ctx); err != nil || n != 0 {
				t.Errorf("a quiet day closed %d statements; %v", n, err)
			}
			if types := outboxTypes(t, db); types[contracts.TypeStatementIssuedV1] != 2 {
				t.Errorf("outbox %v, want two statements issued", types)
			}
			checkLedger(t, db, f.account.ID)
		})
	}
}

func TestAccessControl(t *testing.T) {
	for _, b := range servicetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			db := b.Open(t)
			f := newFixture(t, db)
			ctx := context.Background()
			a := f.authorise(t, f.card.ID, 1_000)
			f.capture(t, a.ID, 0)
			f.clock.Advance(time.Minute)
			if _, err := f.s.CloseStatements(ctx); err != nil {
				t.Fatal(err)
			}
			st := f.overview(t).Statements[0]

			eve := cardstest.NewUser(t, db, "Eve")
			if _, err := f.s.OpenAccount(ctx, eve, "Eve's"); err != nil {
				t.Fatal(err)
			}
			if _, err := f.s.Card(ctx, eve, f.card.ID); !errors.Is(err, cards.ErrNotFound) {
				t.Errorf("Eve reads Ada's card: %v", err)
			}
			if _, err := f.s.CardChanges(ctx, eve, f.card.ID); !errors.Is(err, cards.ErrNotFound) {
				t.Errorf("Eve reads Ada's card's history: %v", err)
			}
			for _, change := range []string{cards.Freeze, cards.Unfreeze, cards.Cancel} {
				if err := f.s.ChangeCard(ctx, eve, f.card.ID, change, "mine now"); !errors.Is(err, cards.ErrNotFound) {
					t.Errorf("Eve %ss Ada's card: %v", change, err)
				}
			}
			if _, err := f.s.Pay(ctx, eve, st.ID); !errors.Is(err, cards.ErrNotFound) {
				t.Errorf("Eve pays Ada's statement: %v", err)
			}
			o := f.overview(t)
			if o.Cards[0].Status != contracts.CardActive || o.Statements[0].Paid != 0 {
				t.Errorf("Ada's card or statement changed: %+v %+v", o.Cards[0], o.Statements[0])
			}
			eo, err := f.s.Overview(ctx, eve, 0, 50)
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
			f := newFixture(t, db)
			ctx := context.Background()
			if err := f.s.ChangeCard(ctx, f.user, f.card.ID, cards.Cancel, ""); err == nil {
				t.Error("a cancellation without a reason went through")
			}
			for _, change := range []string{cards.Freeze, cards.Freeze, cards.Unfreeze} {
				if err := f.s.ChangeCard(ctx, f.user, f.card.ID, change, ""); err != nil {
					t.Fatalf("%s: %v", change, err)
				}
			}
			if err := f.s.ChangeCard(ctx, f.user, f.card.ID, cards.Cancel, "Lost on the train"); err != nil {
				t.Fatal(err)
			}
			if err := f.s.ChangeCard(ctx, f.user, f.card.ID, cards.Unfreeze, ""); err == nil {
				t.Error("a cancelled card was made active again")
			}
			changes, err := f.s.CardChanges(ctx, f.user, f.card.ID)
			if err != nil {
				t.Fatal(err)
			}
			// The second freeze changed nothing, so it is not recorded.
			if len(changes) != 3 || changes[0].To != contracts.CardCancelled || changes[0].Reason != "Lost on the train" ||
				changes[0].Actor != contracts.ActorHolder || changes[2].To != contracts.CardFrozen {
				t.Errorf("changes %+v, want freeze, unfreeze, cancel (newest first) by the holder", changes)
			}
			if types := outboxTypes(t, db); types[contracts.TypeCardStatusChangedV1] != 3 {
				t.Errorf("outbox %v, want three status changes", types)
			}
		})
	}
}
