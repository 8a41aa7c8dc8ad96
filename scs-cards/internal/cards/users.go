package cards

import (
	"context"
	"database/sql"
	"errors"

	"github.com/scs-platform/shared-events/cloudevent"
	"github.com/scs-platform/shared-events/consumer"
	"github.com/scs-platform/shared-events/contracts"
	"github.com/scs-platform/shared-events/usersreplica"
)

// Why the system changes a holder's cards.
const (
	reasonBanned   = "The holder's account was banned."
	reasonUnbanned = "The holder's account is no longer banned."
	reasonDeleted  = "The holder's account was deleted."
)

// UsersHandlers are the users consumer's handlers: the replica's (holder
// names follow renames through it), each followed by cards' own reaction in
// the same transaction. A ban freezes the holder's cards and its end unfreezes
// what the ban froze; a deletion cancels the cards and closes the account,
// whose financial records stay under the user's opaque id.
func (s *Service) UsersHandlers() map[string]consumer.Handler {
	h := usersreplica.Handlers()
	updated, deleted := h[contracts.TypeUserUpdatedV1], h[contracts.TypeUserDeletedV1]
	h[contracts.TypeUserUpdatedV1] = func(ctx context.Context, tx *sql.Tx, ev cloudevent.Event) error {
		if err := updated(ctx, tx, ev); err != nil {
			return err
		}
		p, err := contracts.Decode[contracts.UserUpdatedV1](ev)
		if err != nil {
			return err
		}
		switch p.Status {
		case contracts.StatusBanned:
			return s.changeCardsOf(ctx, tx, p.UserID, `status = 'active'`, contracts.CardFrozen, reasonBanned)
		case contracts.StatusActive:
			return s.changeCardsOf(ctx, tx, p.UserID, `status = 'frozen' AND frozen_by = 'ban'`, contracts.CardActive, reasonUnbanned)
		}
		return nil
	}
	h[contracts.TypeUserDeletedV1] = func(ctx context.Context, tx *sql.Tx, ev cloudevent.Event) error {
		if err := deleted(ctx, tx, ev); err != nil {
			return err
		}
		p, err := contracts.Decode[contracts.UserDeletedV1](ev)
		if err != nil {
			return err
		}
		if err := s.changeCardsOf(ctx, tx, p.UserID, `status <> 'cancelled'`, contracts.CardCancelled, reasonDeleted); err != nil {
			return err
		}
		return s.closeAccountOf(ctx, tx, p.UserID, contracts.ClosedUserDeleted)
	}
	return h
}

// changeCardsOf moves userID's cards that match where to status, as the system.
func (s *Service) changeCardsOf(ctx context.Context, tx *sql.Tx, userID, where string, to contracts.CardStatus, reason string) error {
	rows, err := tx.QueryContext(ctx, `SELECT `+cardColumns+cardFrom+` WHERE c.user_id = $1 AND c.`+where+` ORDER BY c.issued_at_us`+s.DB.ForUpdateOf("c"), userID)
	if err != nil {
		return err
	}
	var list []Card
	for rows.Next() {
		c, err := scanCard(rows)
		if err != nil {
			rows.Close()
			return err
		}
		list = append(list, c)
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return err
	}
	for _, c := range list {
		if err := s.setCardStatus(ctx, tx, c, to, system, reason); err != nil {
			return err
		}
	}
	return nil
}

// closeAccountOf closes userID's account, if it has an open one.
func (s *Service) closeAccountOf(ctx context.Context, tx *sql.Tx, userID string, reason contracts.AccountClosedReason) error {
	now := s.now()
	var id string
	var version int64
	err := tx.QueryRowContext(ctx, `UPDATE accounts SET status = 'closed', closed_reason = $2, closed_at_us = $3, version = version + 1
		WHERE user_id = $1 AND status = 'open' RETURNING id, version`, userID, string(reason), micros(now)).Scan(&id, &version)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return err
	}
	ev, err := contracts.NewEvent(contracts.AccountClosedV1{AccountID: id, UserID: userID, Reason: reason, ClosedAt: now}, version)
	if err != nil {
		return err
	}
	return s.Outbox.Append(ctx, tx, ev)
}
