package terminal

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/google/uuid"

	"github.com/scs-platform/scs-cards/internal/ledger"
	"github.com/scs-platform/scs-cards/internal/money"
)

// ForcedPostingRequest posts a purchase without an authorisation (an offline
// purchase the network pushes through): it is posted even if the account goes
// over its limit.
type ForcedPostingRequest struct {
	CardID   string       `json:"card_id"`
	Amount   money.Amount `json:"amount"`
	Merchant string       `json:"merchant"`
}

// ForcedPosting posts a purchase without authorisation, even over the limit.
func (s *Service) ForcedPosting(ctx context.Context, scope, key string, req ForcedPostingRequest) (Reply, error) {
	return s.idempotent(ctx, scope, key, "forced-posting", req, nil, func(ctx context.Context, tx *sql.Tx, now time.Time) (Outcome, any, error) {
		var accountID, currency string
		var limit, posted, held, over int64
		err := tx.QueryRowContext(ctx, `SELECT a.id, a.currency, a.credit_limit_minor, a.posted_minor, a.held_minor, a.over_limit_minor
			FROM cards c JOIN accounts a ON a.id = c.account_id WHERE c.id = $1`+s.DB.ForUpdate(), req.CardID).
			Scan(&accountID, &currency, &limit, &posted, &held, &over)
		if errors.Is(err, sql.ErrNoRows) {
			r := refusal(Unknown, string(ledger.DeclineUnknownCard), "There is no card "+quote(req.CardID)+".", "card_id")
			return r.Outcome, r, nil
		}
		if err != nil {
			return 0, nil, err
		}
		if currency != string(req.Amount.Currency) {
			r := refusal(Invalid, string(ledger.DeclineWrongCurrency), "This card's account is in "+currency+".", "currency")
			return r.Outcome, r, nil
		}
		owed, err := money.Amount{Minor: posted, Currency: req.Amount.Currency}.Add(req.Amount)
		if err != nil {
			r := refusal(Invalid, "amount_out_of_range", "This posting would take the account's balance out of range.", "amount_minor")
			return r.Outcome, r, nil
		}
		// The CHECK allows the account past its limit by over_limit_minor only.
		over = max(over, owed.Minor+held-limit)
		if _, err := tx.ExecContext(ctx, `UPDATE accounts SET posted_minor = posted_minor + $2, over_limit_minor = $3 WHERE id = $1`,
			accountID, req.Amount.Minor, over); err != nil {
			return 0, nil, err
		}
		a := Authorisation{
			ID: uuid.Must(uuid.NewV7()).String(), CardID: req.CardID, Approved: true, Status: ledger.StatusPosted,
			AmountMinor: req.Amount.Minor, PostedMinor: req.Amount.Minor, Currency: currency, Merchant: req.Merchant, Forced: true, CreatedAt: now,
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO transactions (id, account_id, card_id, kind, merchant, amount_minor, posted_minor, status, forced, created_at_us, settled_at_us)
			VALUES ($1, $2, $3, 'purchase', $4, $5, $5, 'posted', 1, $6, $6)`,
			a.ID, accountID, req.CardID, req.Merchant, req.Amount.Minor, now.UnixMicro())
		return Recorded, a, err
	})
}
