// Package terminal is the merchant terminal's side of a card account: it
// authorises purchases (a hold on the available credit), captures and voids
// them, posts the purchases the network forces through, expires the holds
// nobody settled, and answers each request once per idempotency key.
//
// It knows nothing of HTTP: an answer is an Outcome and a JSON body, which
// package web says in HTTP.
package terminal

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/scs-platform/shared-events/database/sqldb"

	"github.com/scs-platform/scs-cards/internal/ledger"
)

// Service is the terminal. Set the fields; keep one Service per process (it
// tracks the idempotency keys in flight).
type Service struct {
	DB *sqldb.DB
	// Ledger keeps the books the purchases go into; its clock is the
	// terminal's.
	Ledger *ledger.Service
	// AuthorisationTTL is how long an authorisation's hold lasts uncaptured.
	AuthorisationTTL time.Duration

	// inflight holds the idempotency keys being handled by this process.
	inflight sync.Map
	// approved and declined count the authorisations answered, for the
	// metrics.
	approved, declined atomic.Int64
}

// MaxMerchant bounds a merchant's name.
const MaxMerchant = 100

// Authorisations returns how many authorisations this instance approved and
// declined.
func (s *Service) Authorisations() (approved, declined int64) {
	return s.approved.Load(), s.declined.Load()
}

// Authorisation is the terminal's view of a purchase: the body of every
// terminal answer about one.
type Authorisation struct {
	ID       string `json:"id"`
	CardID   string `json:"card_id"`
	Approved bool   `json:"approved"`
	// Status is pending (approved, held), posted, declined, voided or expired.
	Status        string               `json:"status"`
	DeclineReason ledger.DeclineReason `json:"decline_reason,omitempty"`
	// Message says the decline reason in plain words.
	Message     string     `json:"message,omitempty"`
	AmountMinor int64      `json:"amount_minor"`
	PostedMinor int64      `json:"posted_minor,omitempty"`
	Currency    string     `json:"currency"`
	Merchant    string     `json:"merchant"`
	Forced      bool       `json:"forced,omitempty"`
	CreatedAt   time.Time  `json:"created_at"`
	ExpiresAt   *time.Time `json:"expires_at,omitempty"`
}

// Purchases returns the latest purchases over all accounts, newest first:
// the admins' terminal page.
func (s *Service) Purchases(ctx context.Context, limit int) ([]Authorisation, error) {
	rows, err := s.DB.QueryContext(ctx, `SELECT t.id, COALESCE(t.card_id, ''), t.status, COALESCE(t.decline_reason, ''), t.amount_minor,
			COALESCE(t.posted_minor, 0), a.currency, t.merchant, t.forced, t.created_at_us, t.expires_at_us
		FROM transactions t JOIN accounts a ON a.id = t.account_id WHERE t.kind = 'purchase' ORDER BY t.seq DESC`+sqldb.Limit(limit))
	if err != nil {
		return nil, wrap("purchases", err)
	}
	defer rows.Close()
	var list []Authorisation
	for rows.Next() {
		var a Authorisation
		var reason string
		var forced, created int64
		var expires sql.NullInt64
		if err := rows.Scan(&a.ID, &a.CardID, &a.Status, &reason, &a.AmountMinor, &a.PostedMinor, &a.Currency, &a.Merchant, &forced, &created, &expires); err != nil {
			return nil, wrap("purchases", err)
		}
		a.Approved, a.DeclineReason, a.Forced, a.CreatedAt = a.Status != ledger.StatusDeclined, ledger.DeclineReason(reason), forced != 0, fromMicros(created)
		if a.Status == ledger.StatusPending && expires.Valid {
			t := fromMicros(expires.Int64)
			a.ExpiresAt = &t
		}
		list = append(list, a)
	}
	return list, wrap("purchases", rows.Err())
}

// wrap adds what failed to err.
func wrap(what string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("cards: %s: %w", what, err)
}

func fromMicros(us int64) time.Time { return time.UnixMicro(us).UTC() }

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func quote(s string) string {
	if len(s) > 64 {
		s = s[:64] + "…"
	}
	return strconv.Quote(strings.ToValidUTF8(s, "?"))
}
