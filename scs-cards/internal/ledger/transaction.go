package ledger

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/scs-platform/shared-events/database/sqldb"
)

// Transaction is a row of the ledger, as the holder sees it.
type Transaction struct {
	Seq           int64
	ID            string
	CardID        string
	CardLast4     string
	Kind          string
	Merchant      string
	Amount        int64
	Posted        int64
	Status        string
	DeclineReason DeclineReason
	Forced        bool
	CreatedAt     time.Time
	ExpiresAt     time.Time
	SettledAt     time.Time
}

// Transaction statuses.
const (
	StatusPending  = "pending"
	StatusPosted   = "posted"
	StatusDeclined = "declined"
	StatusVoided   = "voided"
	StatusExpired  = "expired"
)

// Transaction kinds.
const (
	KindPurchase = "purchase"
	KindPayment  = "payment"
)

// DeclineReason says why an authorisation was declined.
type DeclineReason string

// The reasons a purchase is declined.
const (
	DeclineUnknownCard        DeclineReason = "unknown_card"
	DeclineCardFrozen         DeclineReason = "card_frozen"
	DeclineCardCancelled      DeclineReason = "card_cancelled"
	DeclineAccountClosed      DeclineReason = "account_closed"
	DeclineInsufficientCredit DeclineReason = "insufficient_credit"
	DeclineWrongCurrency      DeclineReason = "wrong_currency"
)

// Sentence says the reason in plain words.
func (r DeclineReason) Sentence() string {
	switch r {
	case DeclineUnknownCard:
		return "There is no such card."
	case DeclineCardFrozen:
		return "The card is frozen."
	case DeclineCardCancelled:
		return "The card is cancelled."
	case DeclineAccountClosed:
		return "The card account is closed."
	case DeclineInsufficientCredit:
		return "Not enough available credit."
	case DeclineWrongCurrency:
		return "The card does not take this currency."
	}
	return string(r)
}

// Transactions returns the account's transactions older than before (all
// when before is 0), newest first, and the cursor of the next page.
func (s *Service) Transactions(ctx context.Context, q sqldb.Querier, accountID string, before int64, pageSize int) ([]Transaction, int64, error) {
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

// CurrentPeriod returns where the account's current statement period starts
// and what was posted for purchases since the last statement.
func (s *Service) CurrentPeriod(ctx context.Context, q sqldb.Querier, accountID string) (start time.Time, spent int64, err error) {
	var through int64
	if err := q.QueryRowContext(ctx, `SELECT statements_through_us FROM accounts WHERE id = $1`, accountID).Scan(&through); err != nil {
		return time.Time{}, 0, err
	}
	err = q.QueryRowContext(ctx, `SELECT COALESCE(sum(posted_minor), 0) FROM transactions
			WHERE account_id = $1 AND status = 'posted' AND kind = 'purchase' AND statement_id IS NULL`, accountID).Scan(&spent)
	return fromMicros(through), spent, err
}

// Settle moves the pending purchase id to status and the account's figures
// with it, in tx: the hold of held is released and a posting adds amount.
func (s *Service) Settle(ctx context.Context, tx *sql.Tx, id, accountID string, held int64, status string, amount int64, now time.Time) error {
	var posted sql.NullInt64
	if status == StatusPosted {
		posted = sql.NullInt64{Int64: amount, Valid: true}
	}
	res, err := tx.ExecContext(ctx, `UPDATE transactions SET status = $2, posted_minor = $3, settled_at_us = $4 WHERE id = $1 AND status = 'pending'`,
		id, status, posted, now.UnixMicro())
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return errors.Join(err, errors.New("the authorisation is no longer pending"))
	}
	if _, err := tx.ExecContext(ctx, `UPDATE accounts SET held_minor = held_minor - $2, posted_minor = posted_minor + $3 WHERE id = $1`,
		accountID, held, amount); err != nil {
		return err
	}
	return s.shrinkOverLimit(ctx, tx, accountID)
}

// shrinkOverLimit lowers an over-limit account's allowance to what it still
// needs, after a change that took posted or held down, so that the CHECK is
// exact again once the account is back under its limit.
func (s *Service) shrinkOverLimit(ctx context.Context, tx *sql.Tx, accountID string) error {
	_, err := tx.ExecContext(ctx, `UPDATE accounts SET over_limit_minor = CASE
			WHEN posted_minor + held_minor - credit_limit_minor <= 0 THEN 0
			WHEN posted_minor + held_minor - credit_limit_minor < over_limit_minor THEN posted_minor + held_minor - credit_limit_minor
			ELSE over_limit_minor END
		WHERE id = $1 AND over_limit_minor > 0`, accountID)
	return err
}
