// Package reactions is what scs-cards does when another system's event
// arrives: the "reactive" entry points, as package web holds the requests'.
// Open users.go to learn what happens to a holder's cards and account when
// scs-users bans, unbans, renames or deletes the holder.
package reactions

import (
	"context"
	"database/sql"

	"github.com/scs-platform/shared-events/contracts"
	"github.com/scs-platform/shared-events/contracts/cloudevent"
	"github.com/scs-platform/shared-events/eventing/consumer"
	"github.com/scs-platform/shared-events/identity/usersreplica"

	"github.com/scs-platform/scs-cards/internal/cards"
	"github.com/scs-platform/scs-cards/internal/ledger"
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
func UsersHandlers(c *cards.Service, books *ledger.Service) map[string]consumer.Handler {
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
			return c.FreezeAllOf(ctx, tx, p.UserID, reasonBanned)
		case contracts.StatusActive:
			return c.UnfreezeFrozenByBan(ctx, tx, p.UserID, reasonUnbanned)
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
		if err := c.CancelAllOf(ctx, tx, p.UserID, reasonDeleted); err != nil {
			return err
		}
		return books.Close(ctx, tx, p.UserID, contracts.ClosedUserDeleted)
	}
	return h
}
