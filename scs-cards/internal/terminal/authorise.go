package terminal

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/google/uuid"

	"github.com/scs-platform/shared-events/contracts"

	"github.com/scs-platform/scs-cards/internal/ledger"
	"github.com/scs-platform/scs-cards/internal/money"
)

// AuthoriseRequest asks to authorise a purchase on a card: to hold Amount of
// the account's available credit until the purchase is captured, voided or
// the authorisation expires.
type AuthoriseRequest struct {
	CardID   string       `json:"card_id"`
	Amount   money.Amount `json:"amount"`
	Merchant string       `json:"merchant"`
}

// Authorise authorises a purchase under the caller's idempotency key. A
// decline is an answer too (Recorded, approved false), stored like an
// approval.
func (s *Service) Authorise(ctx context.Context, scope, key string, req AuthoriseRequest) (Reply, error) {
	return s.idempotent(ctx, scope, key, "authorise", req, s.authoriseStatements, func(ctx context.Context, tx *sql.Tx, now time.Time) (Outcome, any, error) {
		a, err := s.authorise(ctx, tx, req, now)
		if err == nil && a.Approved {
			s.approved.Add(1)
		} else if err == nil {
			s.declined.Add(1)
		}
		return Recorded, a, err
	})
}

// The statements of an authorisation, the hot path.
const (
	// qHold is the limit check and the hold in one conditional update.
	qHold = `UPDATE accounts SET held_minor = held_minor + $2
		WHERE id = (SELECT account_id FROM cards WHERE id = $1 AND status = 'active') AND status = 'open' AND currency = $3
			AND credit_limit_minor - posted_minor - held_minor >= $2
		RETURNING id`
	// qPending records the approved purchase after qHold.
	qPending = `INSERT INTO transactions (id, account_id, card_id, kind, merchant, amount_minor, status, created_at_us, expires_at_us)
		VALUES ($1, $2, $3, 'purchase', $4, $5, 'pending', $6, $7)`
	// qHoldAndRecord is qHold and qPending in one statement, where writes
	// chain.
	qHoldAndRecord = `WITH held AS (
			UPDATE accounts SET held_minor = held_minor + $2
			WHERE id = (SELECT account_id FROM cards WHERE id = $1 AND status = 'active') AND status = 'open' AND currency = $3
				AND credit_limit_minor - posted_minor - held_minor >= $2
			RETURNING id)
		INSERT INTO transactions (id, account_id, card_id, kind, merchant, amount_minor, status, created_at_us, expires_at_us)
		SELECT $4, id, $1, 'purchase', $5, $2, 'pending', $6, $7 FROM held
		RETURNING account_id`
	// qCardForAuth reads what a decline's reason depends on.
	qCardForAuth = `SELECT c.account_id, c.status, a.currency, a.status FROM cards c JOIN accounts a ON a.id = c.account_id WHERE c.id = $1`
	// qDeclined records a declined purchase.
	qDeclined = `INSERT INTO transactions (id, account_id, card_id, kind, merchant, amount_minor, status, decline_reason, created_at_us, settled_at_us)
			VALUES ($1, $2, $3, 'purchase', $4, $5, 'declined', $6, $7, $7)`
)

// authoriseStatements are the statements authorise runs on this database.
func (s *Service) authoriseStatements() []string {
	if s.DB.ChainsWrites() {
		return []string{qHoldAndRecord, qCardForAuth, qDeclined}
	}
	return []string{qHold, qPending, qCardForAuth, qDeclined}
}

func (s *Service) authorise(ctx context.Context, tx *sql.Tx, req AuthoriseRequest, now time.Time) (Authorisation, error) {
	a := Authorisation{
		ID: uuid.Must(uuid.NewV7()).String(), CardID: req.CardID, AmountMinor: req.Amount.Minor,
		Currency: string(req.Amount.Currency), Merchant: req.Merchant, CreatedAt: now,
	}
	// The limit check and the hold in one conditional update: of two
	// authorisations that would together pass the limit, the second one finds
	// the first's hold and matches no row. An approval is this one statement;
	// only a decline looks for its reason.
	var accountID string
	expires := now.Add(s.AuthorisationTTL)
	var err error
	if s.DB.ChainsWrites() {
		// The same, and the ledger row with it, in one round trip.
		err = s.scan(ctx, tx, qHoldAndRecord, []any{req.CardID, req.Amount.Minor, string(req.Amount.Currency), a.ID, req.Merchant, now.UnixMicro(), expires.UnixMicro()}, &accountID)
	} else if err = s.scan(ctx, tx, qHold, []any{req.CardID, req.Amount.Minor, string(req.Amount.Currency)}, &accountID); err == nil {
		_, err = s.exec(ctx, tx, qPending, a.ID, accountID, req.CardID, req.Merchant, req.Amount.Minor, now.UnixMicro(), expires.UnixMicro())
	}
	if err == nil {
		a.Approved, a.Status, a.ExpiresAt = true, ledger.StatusPending, &expires
		return a, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return a, err
	}
	var cardStatus, currency, accountStatus string
	err = s.scan(ctx, tx, qCardForAuth, []any{req.CardID}, &accountID, &cardStatus, &currency, &accountStatus)
	if errors.Is(err, sql.ErrNoRows) {
		// Nothing to record in a ledger: the card is nobody's.
		return a.declined(ledger.DeclineUnknownCard), nil
	}
	if err != nil {
		return a, err
	}
	reason := declineReason(accountStatus, contracts.CardStatus(cardStatus), currency, string(req.Amount.Currency))
	a = a.declined(reason)
	_, err = s.exec(ctx, tx, qDeclined, a.ID, accountID, req.CardID, req.Merchant, req.Amount.Minor, string(reason), now.UnixMicro())
	return a, err
}

// declineReason says why the hold refused a purchase in the currency wanted,
// from the account's status, the card's and the account's currency: the first
// that holds of a closed account, a cancelled card, a frozen card and an
// account in another currency; otherwise, not enough credit.
func declineReason(accountStatus string, cardStatus contracts.CardStatus, currency, wanted string) ledger.DeclineReason {
	switch {
	case accountStatus != "open":
		return ledger.DeclineAccountClosed
	case cardStatus == contracts.CardCancelled:
		return ledger.DeclineCardCancelled
	case cardStatus == contracts.CardFrozen:
		return ledger.DeclineCardFrozen
	case currency != wanted:
		return ledger.DeclineWrongCurrency
	}
	return ledger.DeclineInsufficientCredit
}

func (a Authorisation) declined(reason ledger.DeclineReason) Authorisation {
	a.Approved, a.Status, a.DeclineReason, a.Message = false, ledger.StatusDeclined, reason, reason.Sentence()
	return a
}
