// Package cards is the payment cards of a card account: opening the account
// with its first card, issuing more, freezing, unfreezing and cancelling them,
// and the holder's overview of the account with its cards.
package cards

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/scs-platform/shared-events/contracts"
	"github.com/scs-platform/shared-events/database/sqldb"
	"github.com/scs-platform/shared-events/eventing/outbox"

	"github.com/scs-platform/scs-cards/internal/ledger"
)

// Service issues and changes cards. Set the fields.
type Service struct {
	DB     *sqldb.DB
	Outbox *outbox.Outbox
	// Ledger keeps the books of the accounts the cards draw on; its clock
	// dates the cards' records too.
	Ledger *ledger.Service
}

// The limits of what holders send.
const (
	MaxReason = contracts.CardMaxReasonLength // in the events, so the contract's
	MaxCards  = 10
	// cardYears is how long a new card is valid.
	cardYears = 4
)

// Card is a payment card. It has no card number: only the last 4 digits.
type Card struct {
	ID, AccountID, UserID string
	Kind                  contracts.CardKind
	Brand                 contracts.CardBrand
	Last4                 string
	// Expires is "YYYY-MM".
	Expires  string
	Status   contracts.CardStatus
	FrozenBy string
	IssuedAt time.Time
	// Holder is the holder's display name from the users replica ("" once
	// the user is deleted).
	Holder string
}

// FrozenByBan reports whether the card is frozen because its holder is banned.
func (c Card) FrozenByBan() bool {
	return c.Status == contracts.CardFrozen && c.FrozenBy == frozenByBan
}

// frozenBy values: who froze a card.
const (
	frozenByHolder = "holder"
	frozenByAdmin  = "admin"
	frozenByBan    = "ban"
)

const cardColumns = `c.id, c.account_id, c.user_id, c.kind, c.brand, c.last4, c.expires, c.status, COALESCE(c.frozen_by, ''), c.issued_at_us, COALESCE(u.display_name, '')`

const cardFrom = ` FROM cards c LEFT JOIN users_replica u ON u.user_id = c.user_id`

func scanCard(row interface{ Scan(...any) error }) (Card, error) {
	var c Card
	var kind, brand, status string
	var issued int64
	err := row.Scan(&c.ID, &c.AccountID, &c.UserID, &kind, &brand, &c.Last4, &c.Expires, &status, &c.FrozenBy, &issued, &c.Holder)
	c.Kind, c.Brand, c.Status, c.IssuedAt = contracts.CardKind(kind), contracts.CardBrand(brand), contracts.CardStatus(status), fromMicros(issued)
	return c, err
}

// cardOf returns the card cardID if it is userID's, else ledger.ErrNotFound;
// locked for the transaction when lock is set.
func (s *Service) cardOf(ctx context.Context, q sqldb.Querier, userID, cardID string, lock bool) (Card, error) {
	query := `SELECT ` + cardColumns + cardFrom + ` WHERE c.id = $1 AND c.user_id = $2`
	if lock {
		query += s.DB.ForUpdateOf("c")
	}
	c, err := scanCard(q.QueryRowContext(ctx, query, cardID, userID))
	if errors.Is(err, sql.ErrNoRows) {
		return Card{}, ledger.ErrNotFound
	}
	return c, err
}

// Card returns the holder's card cardID, or ledger.ErrNotFound.
func (s *Service) Card(ctx context.Context, userID, cardID string) (Card, error) {
	c, err := s.cardOf(ctx, s.DB, userID, cardID, false)
	return c, ledger.Wrap("card", err)
}

// cardsOf returns the account's cards, oldest first.
func (s *Service) cardsOf(ctx context.Context, q sqldb.Querier, accountID string) ([]Card, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+cardColumns+cardFrom+` WHERE c.account_id = $1 ORDER BY c.issued_at_us, c.id`, accountID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var list []Card
	for rows.Next() {
		c, err := scanCard(rows)
		if err != nil {
			return nil, err
		}
		list = append(list, c)
	}
	return list, rows.Err()
}

// inTx runs fn in a transaction; an error not meant for the user says what
// failed.
func (s *Service) inTx(ctx context.Context, what string, fn func(tx *sql.Tx) error) error {
	return ledger.Wrap(what, s.DB.InTx(ctx, fn))
}

func fromMicros(us int64) time.Time { return time.UnixMicro(us).UTC() }
