package terminal

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/scs-platform/scs-cards/internal/ledger"
)

// CaptureRequest posts an authorised purchase. Amount 0 captures all of it;
// less releases the rest of the hold.
type CaptureRequest struct {
	AuthorisationID string `json:"authorisation_id"`
	Amount          int64  `json:"amount_minor"`
}

// VoidRequest releases an authorisation's hold without posting.
type VoidRequest struct {
	AuthorisationID string `json:"authorisation_id"`
}

// Capture posts an authorised purchase (all of it, or less: the rest of the
// hold is released).
func (s *Service) Capture(ctx context.Context, scope, key string, req CaptureRequest) (Reply, error) {
	return s.idempotent(ctx, scope, key, "capture", req, nil, func(ctx context.Context, tx *sql.Tx, now time.Time) (Outcome, any, error) {
		a, accountID, refused, err := s.pending(ctx, tx, req.AuthorisationID, now)
		if err != nil {
			return 0, nil, err
		}
		if refused != nil {
			return refused.Outcome, *refused, nil
		}
		amount := req.Amount
		if amount == 0 {
			amount = a.AmountMinor
		}
		if amount < 0 || amount > a.AmountMinor {
			r := refusal(Invalid, "amount_above_authorised",
				"amount_minor may be at most the authorised amount, "+itoa(a.AmountMinor)+"; post more with a forced posting.", "amount_minor")
			return r.Outcome, r, nil
		}
		if err := s.Ledger.Settle(ctx, tx, a.ID, accountID, a.AmountMinor, ledger.StatusPosted, amount, now); err != nil {
			return 0, nil, err
		}
		a.Status, a.PostedMinor, a.ExpiresAt = ledger.StatusPosted, amount, nil
		return Settled, a, nil
	})
}

// Void releases an authorisation's hold without posting anything.
func (s *Service) Void(ctx context.Context, scope, key string, req VoidRequest) (Reply, error) {
	return s.idempotent(ctx, scope, key, "void", req, nil, func(ctx context.Context, tx *sql.Tx, now time.Time) (Outcome, any, error) {
		a, accountID, refused, err := s.pending(ctx, tx, req.AuthorisationID, now)
		if err != nil {
			return 0, nil, err
		}
		if refused != nil {
			return refused.Outcome, *refused, nil
		}
		if err := s.Ledger.Settle(ctx, tx, a.ID, accountID, a.AmountMinor, ledger.StatusVoided, 0, now); err != nil {
			return 0, nil, err
		}
		a.Status, a.ExpiresAt = ledger.StatusVoided, nil
		return Settled, a, nil
	})
}

// pending returns the authorisation id, locked, if it is still pending;
// otherwise the refusal to answer with. One that is past its expiry is expired
// here and then, whether or not the job got to it yet.
func (s *Service) pending(ctx context.Context, tx *sql.Tx, id string, now time.Time) (a Authorisation, accountID string, refused *Reply, err error) {
	a, accountID, err = s.authorisation(ctx, tx, id)
	if errors.Is(err, errNoAuthorisation) {
		r := refusal(Unknown, "unknown_authorisation", "There is no authorisation "+quote(id)+".", "authorisation_id")
		return a, "", &r, nil
	}
	if err != nil {
		return a, "", nil, err
	}
	if a.Status == ledger.StatusPending && a.ExpiresAt != nil && !a.ExpiresAt.After(now) {
		if err := s.Ledger.Settle(ctx, tx, a.ID, accountID, a.AmountMinor, ledger.StatusExpired, 0, now); err != nil {
			return a, "", nil, err
		}
		a.Status = ledger.StatusExpired
	}
	if a.Status != ledger.StatusPending {
		r := refusal(Conflicting, "not_pending", "This authorisation is "+a.Status+"; only a pending one can be captured or voided.", "authorisation_id")
		return a, "", &r, nil
	}
	return a, accountID, nil, nil
}

// errNoAuthorisation is an authorisation id that names no purchase.
var errNoAuthorisation = errors.New("no such authorisation")

// authorisation reads the purchase id for update.
func (s *Service) authorisation(ctx context.Context, tx *sql.Tx, id string) (Authorisation, string, error) {
	var a Authorisation
	var accountID, reason string
	var posted, forced, created int64
	var expires sql.NullInt64
	err := tx.QueryRowContext(ctx, `SELECT t.id, t.account_id, COALESCE(t.card_id, ''), t.status, COALESCE(t.decline_reason, ''), t.amount_minor,
			COALESCE(t.posted_minor, 0), a.currency, t.merchant, t.forced, t.created_at_us, t.expires_at_us
		FROM transactions t JOIN accounts a ON a.id = t.account_id WHERE t.id = $1 AND t.kind = 'purchase'`+s.DB.ForUpdate(), id).
		Scan(&a.ID, &accountID, &a.CardID, &a.Status, &reason, &a.AmountMinor, &posted, &a.Currency, &a.Merchant, &forced, &created, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return a, "", errNoAuthorisation
	}
	a.Approved = a.Status != ledger.StatusDeclined
	a.DeclineReason, a.PostedMinor, a.Forced, a.CreatedAt = ledger.DeclineReason(reason), posted, forced != 0, fromMicros(created)
	if a.Status == ledger.StatusPending && expires.Valid {
		t := fromMicros(expires.Int64)
		a.ExpiresAt = &t
	}
	return a, accountID, err
}
