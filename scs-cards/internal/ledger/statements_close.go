package ledger

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/google/uuid"

	"github.com/scs-platform/shared-events/contracts"
)

// CloseStatements issues the statements of every period that has ended, once
// per account and period, and returns how many it issued.
//
// A period's statement takes in every posting settled before the period's
// end that no statement took in yet; a period without postings or payments
// gets no statement (what is owed stays on the last one). The statement is due
// DueDays days after the period ends (see DueDate).
func (s *Service) CloseStatements(ctx context.Context) (int, error) {
	now := s.now()
	current := s.Period.Start(now)
	rows, err := s.DB.QueryContext(ctx, `SELECT id FROM accounts WHERE statements_through_us < $1`, current.UnixMicro())
	if err != nil {
		return 0, Wrap("close statements", err)
	}
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return 0, Wrap("close statements", err)
		}
		ids = append(ids, id)
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return 0, Wrap("close statements", err)
	}
	issued := 0
	for _, id := range ids {
		n, err := s.closeAccount(ctx, id, current, now)
		issued += n
		if err != nil {
			return issued, err
		}
	}
	return issued, nil
}

// closeAccount issues the account's statements of the periods before
// current.
func (s *Service) closeAccount(ctx context.Context, accountID string, current, now time.Time) (int, error) {
	issued := 0
	err := s.inTx(ctx, "close statements", func(tx *sql.Tx) error {
		issued = 0
		var through int64
		var userID, currency string
		// The lock makes instances take turns per account, and a posting that
		// commits after this reads the clock after it: it falls in a later
		// period.
		if err := tx.QueryRowContext(ctx, `SELECT statements_through_us, user_id, currency FROM accounts WHERE id = $1`+s.DB.ForUpdate(),
			accountID).Scan(&through, &userID, &currency); err != nil {
			return err
		}
		start := fromMicros(through)
		for start.Before(current) {
			// Skip the empty periods at once: a short period and a long
			// pause would otherwise loop through thousands of them.
			var first sql.NullInt64
			if err := tx.QueryRowContext(ctx, `SELECT min(settled_at_us) FROM transactions WHERE account_id = $1 AND status = 'posted' AND statement_id IS NULL`,
				accountID).Scan(&first); err != nil {
				return err
			}
			if !first.Valid || !fromMicros(first.Int64).Before(current) {
				start = current
				break
			}
			if p := s.Period.Start(fromMicros(first.Int64)); p.After(start) {
				start = p
			}
			end := s.Period.Next(start)
			if err := s.issueStatement(ctx, tx, accountID, userID, currency, start, end, now); err != nil {
				return err
			}
			issued++
			start = end
		}
		_, err := tx.ExecContext(ctx, `UPDATE accounts SET statements_through_us = $2 WHERE id = $1`, accountID, start.UnixMicro())
		return err
	})
	if err == nil {
		s.issued.Add(int64(issued))
	}
	return issued, err
}

// issueStatement issues the statement of [start, end) and takes the postings
// of the period into it.
func (s *Service) issueStatement(ctx context.Context, tx *sql.Tx, accountID, userID, currency string, start, end, now time.Time) error {
	var purchases, payments int64
	if err := tx.QueryRowContext(ctx, `SELECT
			COALESCE(sum(CASE WHEN kind = 'purchase' THEN posted_minor ELSE 0 END), 0),
			COALESCE(sum(CASE WHEN kind = 'payment' THEN posted_minor ELSE 0 END), 0)
		FROM transactions WHERE account_id = $1 AND status = 'posted' AND statement_id IS NULL AND settled_at_us < $2`,
		accountID, end.UnixMicro()).Scan(&purchases, &payments); err != nil {
		return err
	}
	var opening int64
	err := tx.QueryRowContext(ctx, `SELECT closing_minor FROM statements WHERE account_id = $1 ORDER BY period_start_us DESC LIMIT 1`, accountID).Scan(&opening)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	closing := opening + purchases - payments // each within ±MaxMinor·n: no overflow in practice, and the CHECK below agrees
	st := contracts.StatementIssuedV1{
		StatementID: uuid.Must(uuid.NewV7()).String(), AccountID: accountID, UserID: userID, Currency: currency,
		PeriodStart: start, PeriodEnd: end, OpeningBalanceMinor: opening, PurchasesMinor: purchases, PaymentsMinor: payments,
		ClosingBalanceMinor: closing, AmountDueMinor: max(closing, 0), DueDate: DueDate(end, s.DueDays), IssuedAt: now,
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO statements (id, account_id, period_start_us, period_end_us, opening_minor, purchases_minor,
			payments_minor, closing_minor, due_minor, due_date, issued_at_us) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
		st.StatementID, accountID, start.UnixMicro(), end.UnixMicro(), opening, purchases, payments, closing, st.AmountDueMinor, st.DueDate, now.UnixMicro()); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE transactions SET statement_id = $2
		WHERE account_id = $1 AND status = 'posted' AND statement_id IS NULL AND settled_at_us < $3`, accountID, st.StatementID, end.UnixMicro()); err != nil {
		return err
	}
	ev, err := contracts.NewEvent(st, 1)
	if err != nil {
		return err
	}
	return s.Outbox.Append(ctx, tx, ev)
}
