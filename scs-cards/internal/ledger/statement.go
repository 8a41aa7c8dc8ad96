package ledger

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/scs-platform/shared-events/database/sqldb"
)

// Statement is an issued statement and what has been paid towards it.
type Statement struct {
	ID                                         string
	PeriodStart, PeriodEnd                     time.Time
	Opening, Purchases, Payments, Closing, Due int64
	// DueDate is "YYYY-MM-DD".
	DueDate  string
	IssuedAt time.Time
	// Paid is the sum of the payments made towards this statement.
	Paid int64
}

// Outstanding is what is still due.
func (st Statement) Outstanding() int64 { return max(st.Due-st.Paid, 0) }

// Statement statuses, as the holder sees them.
const (
	StatementNothingDue = "nothing due"
	StatementPaid       = "paid"
	StatementDue        = "due"
	StatementOverdue    = "overdue"
)

// Status says where the statement stands on day today ("YYYY-MM-DD").
func (st Statement) Status(today string) string {
	switch {
	case st.Due == 0:
		return StatementNothingDue
	case st.Outstanding() == 0:
		return StatementPaid
	case today > st.DueDate:
		return StatementOverdue
	}
	return StatementDue
}

const statementColumns = `s.id, s.period_start_us, s.period_end_us, s.opening_minor, s.purchases_minor, s.payments_minor, s.closing_minor,
	s.due_minor, s.due_date, s.issued_at_us,
	(SELECT COALESCE(sum(p.posted_minor), 0) FROM transactions p WHERE p.pays_statement_id = s.id)`

func scanStatement(row interface{ Scan(...any) error }) (Statement, error) {
	var st Statement
	var start, end, issued int64
	err := row.Scan(&st.ID, &start, &end, &st.Opening, &st.Purchases, &st.Payments, &st.Closing, &st.Due, &st.DueDate, &issued, &st.Paid)
	st.PeriodStart, st.PeriodEnd, st.IssuedAt = fromMicros(start), fromMicros(end), fromMicros(issued)
	return st, err
}

// Statements returns the account's latest limit statements, newest first.
func (s *Service) Statements(ctx context.Context, q sqldb.Querier, accountID string, limit int) ([]Statement, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+statementColumns+` FROM statements s WHERE s.account_id = $1 ORDER BY s.period_start_us DESC`+sqldb.Limit(limit), accountID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var list []Statement
	for rows.Next() {
		st, err := scanStatement(rows)
		if err != nil {
			return nil, err
		}
		list = append(list, st)
	}
	return list, rows.Err()
}

// statementOf returns userID's statement id with its account, locked.
func (s *Service) statementOf(ctx context.Context, tx *sql.Tx, userID, id string) (Account, Statement, error) {
	a, err := s.AccountOf(ctx, tx, userID, true)
	if err != nil {
		return Account{}, Statement{}, err
	}
	st, err := scanStatement(tx.QueryRowContext(ctx, `SELECT `+statementColumns+` FROM statements s WHERE s.id = $1 AND s.account_id = $2`, id, a.ID))
	if errors.Is(err, sql.ErrNoRows) {
		return Account{}, Statement{}, ErrNotFound
	}
	return a, st, err
}
