package ledger

import (
	"context"
	"database/sql"

	"github.com/google/uuid"
)

// Pay pays what is outstanding on the holder's statement: a payment that
// lowers what the holder owes, which restores available credit.
func (s *Service) Pay(ctx context.Context, userID, statementID string) (int64, error) {
	var paid int64
	err := s.inTx(ctx, "pay a statement", func(tx *sql.Tx) error {
		a, st, err := s.statementOf(ctx, tx, userID, statementID)
		if err != nil {
			return err
		}
		paid = st.Outstanding()
		if paid == 0 {
			return Refuse("", "Nothing is due on this statement any more.")
		}
		now := s.now()
		if _, err := tx.ExecContext(ctx, `INSERT INTO transactions (id, account_id, kind, merchant, amount_minor, posted_minor, status, created_at_us, settled_at_us, pays_statement_id)
			VALUES ($1, $2, 'payment', $3, $4, $4, 'posted', $5, $5, $6)`,
			uuid.Must(uuid.NewV7()).String(), a.ID, "Payment", paid, now.UnixMicro(), st.ID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE accounts SET posted_minor = posted_minor - $2 WHERE id = $1`, a.ID, paid); err != nil {
			return err
		}
		return s.shrinkOverLimit(ctx, tx, a.ID)
	})
	return paid, err
}
