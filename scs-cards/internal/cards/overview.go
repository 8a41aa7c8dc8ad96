package cards

import (
	"context"
	"time"

	"github.com/scs-platform/shared-events/database/sqldb"

	"github.com/scs-platform/scs-cards/internal/ledger"
)

// Overview is the account overview: everything the holder's main page shows.
type Overview struct {
	Account ledger.Account
	Cards   []Card
	// Transactions is a page of the ledger, newest first; NextBefore is the
	// cursor of the next (older) page, 0 when there is none.
	Transactions []ledger.Transaction
	NextBefore   int64
	// Statements are the latest, newest first.
	Statements []ledger.Statement
	// SpentThisPeriod is what was posted for purchases since the last
	// statement's period ended; PeriodStart is where that is.
	SpentThisPeriod int64
	PeriodStart     time.Time
}

// latestStatements is how many statements the overview shows.
const latestStatements = 12

// Overview returns userID's overview with the page of transactions older than
// before (0: the newest), of at most pageSize rows, read on one snapshot so
// that its figures agree with each other.
func (s *Service) Overview(ctx context.Context, userID string, before int64, pageSize int) (Overview, error) {
	var o Overview
	err := s.DB.ReadSnapshot(ctx, func(q sqldb.Querier) error {
		a, err := s.Ledger.AccountOf(ctx, q, userID, false)
		if err != nil {
			return err
		}
		o.Account = a
		if o.Cards, err = s.cardsOf(ctx, q, a.ID); err != nil {
			return err
		}
		if o.Transactions, o.NextBefore, err = s.Ledger.Transactions(ctx, q, a.ID, before, pageSize); err != nil {
			return err
		}
		if o.Statements, err = s.Ledger.Statements(ctx, q, a.ID, latestStatements); err != nil {
			return err
		}
		o.PeriodStart, o.SpentThisPeriod, err = s.Ledger.CurrentPeriod(ctx, q, a.ID)
		return err
	})
	return o, ledger.Wrap("overview", err)
}
