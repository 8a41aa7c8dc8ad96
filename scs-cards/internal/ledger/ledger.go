// Package ledger is the books of a business card account: the account with its
// credit limit, the ledger of purchases and payments, the statements and the
// paying of them, and the job that issues statements.
//
// Money is int64 minor units of the account's currency (package money); it is
// formatted only in views. The account row holds what the ledger adds up to
// (posted_minor, held_minor), changed only by relative, conditional updates in
// the transaction that writes the ledger row, so that no update is lost and no
// two authorisations spend the same credit.
package ledger

import (
	"context"
	"database/sql"
	"sync/atomic"
	"time"

	"github.com/scs-platform/shared-events/contracts"
	"github.com/scs-platform/shared-events/database/sqldb"
	"github.com/scs-platform/shared-events/eventing/outbox"

	"github.com/scs-platform/scs-cards/internal/money"
)

// Service keeps the books. Set the fields.
type Service struct {
	DB     *sqldb.DB
	Outbox *outbox.Outbox
	// Currency and DefaultLimit are what a new account gets.
	Currency     money.Currency
	DefaultLimit int64
	// Period is the statement period; DueDays how many days after a period's
	// end its statement is due.
	Period  Period
	DueDays int
	// Now is the clock (default time.Now).
	Now func() time.Time

	// issued counts the statements this instance issued, for the metrics.
	issued atomic.Int64
}

// The limits of what holders send, and of a page of the ledger.
const (
	MaxAccountName  = contracts.AccountMaxNameLength // in the events, so the contract's
	MaxPageSize     = 100
	DefaultPageSize = 20
)

// StatementsIssued is how many statements this instance issued.
func (s *Service) StatementsIssued() int64 { return s.issued.Load() }

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

// inTx runs fn in a transaction; an error not meant for the user says what
// failed.
func (s *Service) inTx(ctx context.Context, what string, fn func(tx *sql.Tx) error) error {
	return Wrap(what, s.DB.InTx(ctx, fn))
}

func fromMicros(us int64) time.Time { return time.UnixMicro(us).UTC() }

func nullMicros(v sql.NullInt64) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	return fromMicros(v.Int64)
}
