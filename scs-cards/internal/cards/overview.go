package cards

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/scs-platform/shared-events/sqldb"
)

// Overview is the account overview: everything the holder's main page shows.
type Overview struct {
	Account Account
	Cards   []Card
	// Transactions is a page of the ledger, newest first; NextBefore is the
	// cursor of the next (older) page, 0 when there is none.
	Transactions []Transaction
	NextBefore   int64
	// Statements are the latest, newest first.
	Statements []Statement
	// SpentThisPeriod is what was posted for purchases since the last
	// statement's period ended; PeriodStart is where that is.
	SpentThisPeriod int64
	PeriodStart     time.Time
}

// latestStatements is how many statements the overview shows.
const latestStatements = 12

// Overview returns userID's overview with the page of transactions older than
// before (0: the newest), of at most pageSize rows.
func (s *Service) Overview(ctx context.Context, userID string, before int64, pageSize int) (Overview, error) {
	var o Overview
	err := s.DB.ReadSnapshot(ctx, func(q sqldb.Querier) error {
		a, err := s.accountOf(ctx, q, userID, false)
		if err != nil {
			return err
		}
		o.Account = a
		if o.Cards, err = s.cardsOf(ctx, q, a.ID); err != nil {
			return err
		}
		if o.Transactions, o.NextBefore, err = s.transactions(ctx, q, a.ID, before, pageSize); err != nil {
			return err
		}
		if o.Statements, err = s.statements(ctx, q, a.ID, latestStatements); err != nil {
			return err
		}
		var through int64
		if err := q.QueryRowContext(ctx, `SELECT statements_through_us FROM accounts WHERE id = $1`, a.ID).Scan(&through); err != nil {
			return err
		}
		o.PeriodStart = fromMicros(through)
		return q.QueryRowContext(ctx, `SELECT COALESCE(sum(posted_minor), 0) FROM transactions
			WHERE account_id = $1 AND status = 'posted' AND kind = 'purchase' AND statement_id IS NULL`, a.ID).Scan(&o.SpentThisPeriod)
	})
	return o, wrap("overview", err)
}

// transactions returns the account's transactions older than before (all when
// before is 0), newest first, and the cursor of the next page.
func (s *Service) transactions(ctx context.Context, q sqldb.Querier, accountID string, before int64, pageSize int) ([]Transaction, int64, error) {
	if pageSize <= 0 || pageSize > MaxPageSize {
		pageSize = DefaultPageSize
	}
	if before <= 0 {
		before = 1<<63 - 1
	}
	rows, err := q.QueryContext(ctx, `SELECT t.seq, t.id, COALESCE(t.card_id, ''), COALESCE(c.last4, ''), t.kind, t.merchant, t.amount_minor,
			COALESCE(t.posted_minor, 0), t.status, COALESCE(t.decline_reason, ''), t.forced, t.created_at_us, t.expires_at_us, t.settled_at_us
		FROM transactions t LEFT JOIN cards c ON c.id = t.card_id
		WHERE t.account_id = $1 AND t.seq < $2 ORDER BY t.seq DESC`+sqldb.Limit(pageSize+1), accountID, before)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	var list []Transaction
	for rows.Next() {
		var t Transaction
		var reason string
		var forced, created int64
		var expires, settled sql.NullInt64
		if err := rows.Scan(&t.Seq, &t.ID, &t.CardID, &t.CardLast4, &t.Kind, &t.Merchant, &t.Amount, &t.Posted, &t.Status,
			&reason, &forced, &created, &expires, &settled); err != nil {
			return nil, 0, err
		}
		t.DeclineReason, t.Forced = DeclineReason(reason), forced != 0
		t.CreatedAt, t.ExpiresAt, t.SettledAt = fromMicros(created), nullMicros(expires), nullMicros(settled)
		list = append(list, t)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, err
	}
	var next int64
	if len(list) > pageSize {
		list = list[:pageSize]
		next = list[pageSize-1].Seq
	}
	return list, next, nil
}

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

func (s *Service) statements(ctx context.Context, q sqldb.Querier, accountID string, limit int) ([]Statement, error) {
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
	a, err := s.accountOf(ctx, tx, userID, true)
	if err != nil {
		return Account{}, Statement{}, err
	}
	st, err := scanStatement(tx.QueryRowContext(ctx, `SELECT `+statementColumns+` FROM statements s WHERE s.id = $1 AND s.account_id = $2`, id, a.ID))
	if errors.Is(err, sql.ErrNoRows) {
		return Account{}, Statement{}, ErrNotFound
	}
	return a, st, err
}
