// Package cardstest builds scs-cards' services on a test database, with a
// clock the test moves.
package cardstest

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/scs-platform/shared-events/database/sqldb"
	"github.com/scs-platform/shared-events/eventing/eventsig"
	"github.com/scs-platform/shared-events/eventing/outbox"

	"github.com/scs-platform/scs-cards/internal/cards"
	"github.com/scs-platform/scs-cards/internal/ledger"
	"github.com/scs-platform/scs-cards/internal/migrations"
	"github.com/scs-platform/scs-cards/internal/terminal"
)

// Limit is every test account's credit limit: SEK 50,000.00.
const Limit = 5_000_000

// System is the services of one scs-cards instance.
type System struct {
	Ledger   *ledger.Service
	Cards    *cards.Service
	Terminal *terminal.Service
}

// NewSystem migrates db and returns the services on it, in SEK, with
// statement periods of a minute, and their clock. Several Systems on one
// PostgreSQL database stand for several instances.
func NewSystem(t testing.TB, db *sqldb.DB) (*System, *Clock) {
	t.Helper()
	if err := migrations.Apply(context.Background(), db); err != nil {
		t.Fatal(err)
	}
	clock := &Clock{now: time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)}
	events := outbox.New(db, eventsig.DevelopmentSigner("cards"))
	books := &ledger.Service{
		DB:           db,
		Outbox:       events,
		Currency:     "SEK",
		DefaultLimit: Limit,
		Period:       ledger.Period{Every: time.Minute},
		DueDays:      25,
		Now:          clock.Now,
	}
	return &System{
		Ledger:   books,
		Cards:    &cards.Service{DB: db, Outbox: events, Ledger: books},
		Terminal: &terminal.Service{DB: db, Ledger: books, AuthorisationTTL: time.Hour},
	}, clock
}

// Clock is a clock that moves only when told.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock on by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// NewUser puts a user into the users replica, as scs-users' events would,
// and returns its id.
func NewUser(t testing.TB, db *sqldb.DB, name string) string {
	t.Helper()
	id := uuid.Must(uuid.NewV7()).String()
	if _, err := db.Exec(`INSERT INTO users_replica (user_id, display_name, role, status, tokens_valid_after_us) VALUES ($1, $2, 'user', 'active', 0)`,
		id, name); err != nil {
		t.Fatal(err)
	}
	return id
}
