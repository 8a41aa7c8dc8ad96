package terminal

import (
	"context"
	"database/sql"
	"errors"

	"github.com/scs-platform/scs-cards/internal/ledger"
)

// ExpireAuthorisations releases the holds of authorisations past their
// expiry, and returns how many it expired: a job. (A capture or void of one
// past its expiry expires it then, whether or not the job got to it yet.)
func (s *Service) ExpireAuthorisations(ctx context.Context) (int, error) {
	now := s.Ledger.Clock()
	total := 0
	for {
		var n int
		err := wrap("expire authorisations", s.DB.InTx(ctx, func(tx *sql.Tx) error {
			rows, err := tx.QueryContext(ctx, `SELECT id, account_id, amount_minor FROM transactions
				WHERE status = 'pending' AND expires_at_us <= $1 ORDER BY expires_at_us LIMIT 200`+s.DB.ForUpdateSkipLocked(), now.UnixMicro())
			if err != nil {
				return err
			}
			type due struct {
				id, account string
				amount      int64
			}
			var list []due
			for rows.Next() {
				var d due
				if err := rows.Scan(&d.id, &d.account, &d.amount); err != nil {
					rows.Close()
					return err
				}
				list = append(list, d)
			}
			if err := errors.Join(rows.Err(), rows.Close()); err != nil {
				return err
			}
			for _, d := range list {
				if err := s.Ledger.Settle(ctx, tx, d.id, d.account, d.amount, ledger.StatusExpired, 0, now); err != nil {
					return err
				}
			}
			n = len(list)
			return nil
		}))
		total += n
		if err != nil || n < 200 {
			return total, err
		}
	}
}
