package cards

import (
	"context"
	"database/sql"
	"time"

	"github.com/scs-platform/shared-events/contracts"

	"github.com/scs-platform/scs-cards/internal/ledger"
)

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
		if reason, err = ledger.Text("reason", "why you cancel the card", reason, MaxReason); err != nil {
			return err
		}
	default:
		return ledger.Refuse("", "There is no such change of a card.")
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
			return ledger.Refuse("", "This card is cancelled; a cancelled card stays cancelled.")
		case c.Status == to:
			return nil // a second click changes nothing
		case change == Unfreeze && c.FrozenBy == frozenByBan:
			return ledger.Refuse("", "This card was frozen by the platform and cannot be unfrozen here.")
		}
		return s.setCardStatus(ctx, tx, c, to, Holder(userID), reason)
	})
}

// setCardStatus records and publishes a change of c's status.
func (s *Service) setCardStatus(ctx context.Context, tx *sql.Tx, c Card, to contracts.CardStatus, by Actor, reason string) error {
	now := s.Ledger.Clock()
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
		VALUES ($1, $2, $3, $4, $5, $6, $7)`, c.ID, string(c.Status), string(to), string(by.Kind), actorID, reason, now.UnixMicro()); err != nil {
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
		return nil, ledger.Wrap("card changes", err)
	}
	rows, err := s.DB.QueryContext(ctx, `SELECT from_status, to_status, actor, reason, at_us FROM card_changes WHERE card_id = $1 ORDER BY seq DESC LIMIT 50`, cardID)
	if err != nil {
		return nil, ledger.Wrap("card changes", err)
	}
	defer rows.Close()
	var list []CardChange
	for rows.Next() {
		var c CardChange
		var from, to, actor string
		var at int64
		if err := rows.Scan(&from, &to, &actor, &c.Reason, &at); err != nil {
			return nil, ledger.Wrap("card changes", err)
		}
		c.From, c.To, c.Actor, c.At = contracts.CardStatus(from), contracts.CardStatus(to), contracts.CardActor(actor), fromMicros(at)
		list = append(list, c)
	}
	return list, ledger.Wrap("card changes", rows.Err())
}
