package cards

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"math/big"
	"time"

	"github.com/google/uuid"

	"github.com/scs-platform/shared-events/contracts"
	"github.com/scs-platform/shared-events/sqldb"

	"github.com/scs-platform/scs-cards/internal/money"
)

// OpenAccount opens userID's card account, named name, with the default limit
// and currency, and issues its first card, a physical one. A user has one
// account at most (ErrHasAccount).
func (s *Service) OpenAccount(ctx context.Context, userID, name string) (Account, error) {
	name, err := textLength("name", "a name for the account", name, MaxAccountName)
	if err != nil {
		return Account{}, err
	}
	now := s.now()
	a := Account{
		ID: uuid.Must(uuid.NewV7()).String(), UserID: userID, Name: name,
		Currency: s.Currency, Limit: s.DefaultLimit, Status: "open", OpenedAt: now,
	}
	err = s.inTx(ctx, "open an account", func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM accounts WHERE user_id = $1`, userID).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return ErrHasAccount
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO accounts (id, user_id, name, currency, credit_limit_minor, status, version, opened_at_us, statements_through_us)
			VALUES ($1, $2, $3, $4, $5, 'open', 1, $6, $7)`,
			a.ID, userID, name, string(a.Currency), a.Limit, micros(now), micros(s.Period.Start(now)))
		if sqldb.IsUniqueViolation(err) {
			return ErrHasAccount
		}
		if err != nil {
			return err
		}
		ev, err := contracts.NewEvent(contracts.AccountOpenedV1{
			AccountID: a.ID, UserID: userID, Name: name, Currency: string(a.Currency),
			CreditLimitMinor: a.Limit, OpenedAt: now,
		}, 1)
		if err != nil {
			return err
		}
		if err := s.Outbox.Append(ctx, tx, ev); err != nil {
			return err
		}
		_, err = s.issueCard(ctx, tx, a, contracts.CardPhysical, now)
		return err
	})
	if err != nil {
		return Account{}, err
	}
	return a, nil
}

// IssueVirtualCard issues an additional virtual card on userID's account.
func (s *Service) IssueVirtualCard(ctx context.Context, userID string) (Card, error) {
	var c Card
	err := s.inTx(ctx, "issue a card", func(tx *sql.Tx) error {
		a, err := s.accountOf(ctx, tx, userID, true)
		if err != nil {
			return err
		}
		if !a.Open() {
			return ErrClosed
		}
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM cards WHERE account_id = $1 AND status <> 'cancelled'`, a.ID).Scan(&n); err != nil {
			return err
		}
		if n >= MaxCards {
			return refuse("", "An account may have at most %d cards that are not cancelled. Cancel one you no longer use first.", MaxCards)
		}
		c, err = s.issueCard(ctx, tx, a, contracts.CardVirtual, s.now())
		return err
	})
	return c, err
}

// issueCard adds a card to a and publishes it. The last 4 digits are random;
// no full number exists anywhere.
func (s *Service) issueCard(ctx context.Context, tx *sql.Tx, a Account, kind contracts.CardKind, now time.Time) (Card, error) {
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
		c.ID, c.AccountID, c.UserID, string(c.Kind), string(c.Brand), c.Last4, c.Expires, micros(now))
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

// Actor is who changes a card: its holder, an admin, or the system (reacting
// to the holder's account in scs-users).
type Actor struct {
	Kind contracts.CardActor
	// UserID is the holder's or the admin's id; "" for the system.
	UserID string
}

// Holder is userID acting on their own cards.
func Holder(userID string) Actor { return Actor{Kind: contracts.ActorHolder, UserID: userID} }

// system is the actor of changes that follow the holder's account.
var system = Actor{Kind: contracts.ActorSystem}

// Card changes a holder may ask for.
const (
	Freeze   = "freeze"
	Unfreeze = "unfreeze"
	Cancel   = "cancel"
)

// ChangeCard freezes, unfreezes or cancels (for good, with a reason) the
// holder's card cardID.
func (s *Service) ChangeCard(ctx context.Context, userID, cardID, change, reason string) error {
	var to contracts.CardStatus
	switch change {
	case Freeze:
		to = contracts.CardFrozen
	case Unfreeze:
		to = contracts.CardActive
	case Cancel:
		to = contracts.CardCancelled
		var err error
		if reason, err = textLength("reason", "why you cancel the card", reason, MaxReason); err != nil {
			return err
		}
	default:
		return refuse("", "There is no such change of a card.")
	}
	return s.inTx(ctx, "change a card", func(tx *sql.Tx) error {
		// Locked, so that of a cancel and a freeze at once, the second sees
		// the first: a cancelled card stays cancelled.
		c, err := s.cardOf(ctx, tx, userID, cardID, true)
		if err != nil {
			return err
		}
		switch {
		case c.Status == contracts.CardCancelled:
			return refuse("", "This card is cancelled; a cancelled card stays cancelled.")
		case c.Status == to:
			return nil // a second click changes nothing
		case change == Unfreeze && c.FrozenBy == frozenByBan:
			return refuse("", "This card was frozen by the platform and cannot be unfrozen here.")
		}
		return s.setCardStatus(ctx, tx, c, to, Holder(userID), reason)
	})
}

// setCardStatus records and publishes a change of c's status.
func (s *Service) setCardStatus(ctx context.Context, tx *sql.Tx, c Card, to contracts.CardStatus, by Actor, reason string) error {
	now := s.now()
	var frozenBy sql.NullString
	if to == contracts.CardFrozen {
		frozenBy = sql.NullString{String: frozenByHolder, Valid: true}
		switch by.Kind {
		case contracts.ActorAdmin:
			frozenBy.String = frozenByAdmin
		case contracts.ActorSystem:
			frozenBy.String = frozenByBan
		}
	}
	var version int64
	// A cancelled card never changes again, whatever the caller read.
	err := tx.QueryRowContext(ctx, `UPDATE cards SET status = $2, frozen_by = $3, version = version + 1 WHERE id = $1 AND status <> 'cancelled' RETURNING version`,
		c.ID, string(to), frozenBy).Scan(&version)
	if err != nil {
		return err
	}
	var actorID sql.NullString
	if by.UserID != "" {
		actorID = sql.NullString{String: by.UserID, Valid: true}
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO card_changes (card_id, from_status, to_status, actor, actor_id, reason, at_us)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`, c.ID, string(c.Status), string(to), string(by.Kind), actorID, reason, micros(now)); err != nil {
		return err
	}
	ev, err := contracts.NewEvent(contracts.CardStatusChangedV1{
		CardID: c.ID, AccountID: c.AccountID, UserID: c.UserID, Status: to, PreviousStatus: c.Status,
		Actor: by.Kind, ActorID: by.UserID, Reason: reason, ChangedAt: now,
	}, version)
	if err != nil {
		return err
	}
	return s.Outbox.Append(ctx, tx, ev)
}

// CardChange is one recorded change of a card's status.
type CardChange struct {
	From, To contracts.CardStatus
	Actor    contracts.CardActor
	Reason   string
	At       time.Time
}

// CardChanges returns the changes of the holder's card, newest first.
func (s *Service) CardChanges(ctx context.Context, userID, cardID string) ([]CardChange, error) {
	if _, err := s.cardOf(ctx, s.DB, userID, cardID, false); err != nil {
		return nil, wrap("card changes", err)
	}
	rows, err := s.DB.QueryContext(ctx, `SELECT from_status, to_status, actor, reason, at_us FROM card_changes WHERE card_id = $1 ORDER BY seq DESC LIMIT 50`, cardID)
	if err != nil {
		return nil, wrap("card changes", err)
	}
	defer rows.Close()
	var list []CardChange
	for rows.Next() {
		var c CardChange
		var from, to, actor string
		var at int64
		if err := rows.Scan(&from, &to, &actor, &c.Reason, &at); err != nil {
			return nil, wrap("card changes", err)
		}
		c.From, c.To, c.Actor, c.At = contracts.CardStatus(from), contracts.CardStatus(to), contracts.CardActor(actor), fromMicros(at)
		list = append(list, c)
	}
	return list, wrap("card changes", rows.Err())
}

const accountColumns = `id, user_id, name, currency, credit_limit_minor, posted_minor, held_minor, status, COALESCE(closed_reason, ''), opened_at_us, closed_at_us`

func scanAccount(row interface{ Scan(...any) error }) (Account, error) {
	var a Account
	var currency string
	var opened int64
	var closed sql.NullInt64
	err := row.Scan(&a.ID, &a.UserID, &a.Name, &currency, &a.Limit, &a.Posted, &a.Held, &a.Status, &a.ClosedReason, &opened, &closed)
	a.Currency, a.OpenedAt, a.ClosedAt = money.Currency(currency), fromMicros(opened), nullMicros(closed)
	return a, err
}

// accountOf returns userID's account, locked for the transaction when lock
// is set.
func (s *Service) accountOf(ctx context.Context, q sqldb.Querier, userID string, lock bool) (Account, error) {
	query := `SELECT ` + accountColumns + ` FROM accounts WHERE user_id = $1`
	if lock {
		query += s.DB.ForUpdate()
	}
	a, err := scanAccount(q.QueryRowContext(ctx, query, userID))
	if errors.Is(err, sql.ErrNoRows) {
		return Account{}, ErrNoAccount
	}
	return a, err
}

// Account returns userID's account, or ErrNoAccount.
func (s *Service) Account(ctx context.Context, userID string) (Account, error) {
	a, err := s.accountOf(ctx, s.DB, userID, false)
	return a, wrap("account", err)
}

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

// cardOf returns the card cardID if it is userID's, else ErrNotFound; locked
// for the transaction when lock is set.
func (s *Service) cardOf(ctx context.Context, q sqldb.Querier, userID, cardID string, lock bool) (Card, error) {
	query := `SELECT ` + cardColumns + cardFrom + ` WHERE c.id = $1 AND c.user_id = $2`
	if lock {
		query += s.DB.ForUpdateOf("c")
	}
	c, err := scanCard(q.QueryRowContext(ctx, query, cardID, userID))
	if errors.Is(err, sql.ErrNoRows) {
		return Card{}, ErrNotFound
	}
	return c, err
}

// Card returns the holder's card cardID, or ErrNotFound.
func (s *Service) Card(ctx context.Context, userID, cardID string) (Card, error) {
	c, err := s.cardOf(ctx, s.DB, userID, cardID, false)
	return c, wrap("card", err)
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
