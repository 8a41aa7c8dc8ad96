package cards

import (
	"context"
	"database/sql"
	"errors"

	"github.com/scs-platform/shared-events/contracts"
)

// The changes the system makes to all of a holder's cards, when the holder's
// account in scs-users changes (see package reactions). Each runs in the
// transaction that applies the event.

// FreezeAllOf freezes userID's active cards, as frozen by the platform: only
// UnfreezeFrozenByBan unfreezes them.
func (s *Service) FreezeAllOf(ctx context.Context, tx *sql.Tx, userID, reason string) error {
	return s.changeCardsOf(ctx, tx, userID, `status = 'active'`, contracts.CardFrozen, reason)
}

// UnfreezeFrozenByBan makes userID's cards that FreezeAllOf froze active
// again; a card its holder or an admin froze stays frozen.
func (s *Service) UnfreezeFrozenByBan(ctx context.Context, tx *sql.Tx, userID, reason string) error {
	return s.changeCardsOf(ctx, tx, userID, `status = 'frozen' AND frozen_by = 'ban'`, contracts.CardActive, reason)
}

// CancelAllOf cancels userID's cards that are not cancelled yet.
func (s *Service) CancelAllOf(ctx context.Context, tx *sql.Tx, userID, reason string) error {
	return s.changeCardsOf(ctx, tx, userID, `status <> 'cancelled'`, contracts.CardCancelled, reason)
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
