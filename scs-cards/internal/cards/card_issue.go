package cards

import (
	"context"
	"crypto/rand"
	"database/sql"
	"fmt"
	"math/big"
	"time"

	"github.com/google/uuid"

	"github.com/scs-platform/shared-events/contracts"

	"github.com/scs-platform/scs-cards/internal/ledger"
)

// IssueVirtualCard issues an additional virtual card on userID's account.
func (s *Service) IssueVirtualCard(ctx context.Context, userID string) (Card, error) {
	var c Card
	err := s.inTx(ctx, "issue a card", func(tx *sql.Tx) error {
		a, err := s.Ledger.AccountOf(ctx, tx, userID, true)
		if err != nil {
			return err
		}
		if !a.Open() {
			return ledger.ErrClosed
		}
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM cards WHERE account_id = $1 AND status <> 'cancelled'`, a.ID).Scan(&n); err != nil {
			return err
		}
		if n >= MaxCards {
			return ledger.Refuse("", "An account may have at most %d cards that are not cancelled. Cancel one you no longer use first.", MaxCards)
		}
		c, err = s.issueCard(ctx, tx, a, contracts.CardVirtual, s.Ledger.Clock())
		return err
	})
	return c, err
}

// issueCard adds a card to a and publishes it. The last 4 digits are random;
// no full number exists anywhere.
func (s *Service) issueCard(ctx context.Context, tx *sql.Tx, a ledger.Account, kind contracts.CardKind, now time.Time) (Card, error) {
	n, err := rand.Int(rand.Reader, big.NewInt(10000))
	if err != nil {
		return Card{}, err
	}
	expiry := now.AddDate(cardYears, 0, 0)
	c := Card{
		ID: uuid.Must(uuid.NewV7()).String(), AccountID: a.ID, UserID: a.UserID, Kind: kind,
		Brand: contracts.BrandVisa, Last4: fmt.Sprintf("%04d", n.Int64()),
		Expires: fmt.Sprintf("%04d-%02d", expiry.Year(), expiry.Month()), Status: contracts.CardActive, IssuedAt: now,
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO cards (id, account_id, user_id, kind, brand, last4, expires, status, version, issued_at_us)
		VALUES ($1, $2, $3, $4, $5, $6, $7, 'active', 1, $8)`,
		c.ID, c.AccountID, c.UserID, string(c.Kind), string(c.Brand), c.Last4, c.Expires, now.UnixMicro())
	if err != nil {
		return Card{}, err
	}
	ev, err := contracts.NewEvent(contracts.CardIssuedV1{
		CardID: c.ID, AccountID: c.AccountID, UserID: c.UserID, Kind: c.Kind, Brand: c.Brand,
		Last4: c.Last4, Expires: c.Expires, IssuedAt: now,
	}, 1)
	if err != nil {
		return Card{}, err
	}
	return c, s.Outbox.Append(ctx, tx, ev)
}
