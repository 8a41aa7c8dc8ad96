package chat

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/scs-platform/shared-events/contracts"
	"github.com/scs-platform/shared-events/contracts/cloudevent"
	"github.com/scs-platform/shared-events/eventing/consumer"
	"github.com/scs-platform/shared-events/identity/usersreplica"
)

// Chat's reactions: what chat does when another system's event arrives. Only
// scs-users' events concern chat; the users consumer (chat.from-users) applies
// them with UsersHandlers. What happens when a user is banned or deleted:
//
//  1. Here, in the consumer's transaction: the users replica records it, the
//     user leaves the waiting room, their active conversation ends, and an
//     access change is recorded (accessChanged). A rename or a revoked session
//     records an access change only.
//  2. On every instance, web.WatchAccess (internal/web/access_changes.go) reads
//     the access changes (AccessChanges): it closes the user's websockets there
//     (the page reloads and the gate decides what the user sees), tells the
//     partner that the conversation ended, and sends the partner of an active
//     conversation the user's name as it is now.

// AccessChange is a user whose access changed: banned, deleted, a session
// revoked, tokens renewed. Every instance rechecks that user's open websockets.
type AccessChange struct {
	Seq    int64
	UserID string
	// ConversationID and PartnerID are set when the change ended the user's
	// conversation (a ban or a deletion), so that the partner is told.
	ConversationID, PartnerID string
}

// keepAccessChanges is how long access changes are kept for instances to read;
// one that was away longer has no websockets left from before.
const keepAccessChanges = 10 * time.Minute

// UsersHandlers are the users consumer's handlers: the replica's, each
// followed by chat's own reaction in the same transaction. A banned or deleted
// user leaves the waiting room and their conversation ends; every change to a
// user is recorded for the instances to recheck that user's websockets.
func (s *Service) UsersHandlers() map[string]consumer.Handler {
	h := usersreplica.Handlers()
	react := func(typ string, user func(cloudevent.Event) (string, error)) {
		inner := h[typ]
		h[typ] = func(ctx context.Context, tx *sql.Tx, ev cloudevent.Event) error {
			if err := inner(ctx, tx, ev); err != nil {
				return err
			}
			id, err := user(ev)
			if err != nil {
				return err
			}
			return s.accessChanged(ctx, tx, id)
		}
	}
	react(contracts.TypeUserUpdatedV1, func(ev cloudevent.Event) (string, error) {
		p, err := contracts.Decode[contracts.UserUpdatedV1](ev)
		return p.UserID, err
	})
	react(contracts.TypeUserDeletedV1, func(ev cloudevent.Event) (string, error) {
		p, err := contracts.Decode[contracts.UserDeletedV1](ev)
		return p.UserID, err
	})
	react(contracts.TypeSessionRevokedV1, func(ev cloudevent.Event) (string, error) {
		p, err := contracts.Decode[contracts.SessionRevokedV1](ev)
		return p.UserID, err
	})
	return h
}

// accessChanged reacts to a change of userID, whose replica row is up to date
// in tx.
func (s *Service) accessChanged(ctx context.Context, tx *sql.Tx, userID string) error {
	var status string
	if err := tx.QueryRowContext(ctx, `SELECT status FROM users_replica WHERE user_id = $1`, userID).Scan(&status); err != nil {
		return fmt.Errorf("chat: access of %s: %w", userID, err)
	}
	now := s.now()
	// Under the matchmaking lock, as every change to the waiting room is: the
	// instances' indexes catch up from the log this writes. It also makes the
	// access_changes seqs commit in order, so that a reader of "after seq"
	// misses none.
	if err := s.lockRoom(ctx, tx); err != nil {
		return err
	}
	var conversation, partner sql.NullString
	if contracts.Status(status) != contracts.StatusActive {
		if _, err := leaveRoom(ctx, tx, []string{userID}); err != nil {
			return err
		}
		var id string
		err := tx.QueryRowContext(ctx, `SELECT conversation_id FROM active_members WHERE user_id = $1`, userID).Scan(&id)
		switch {
		case err == nil:
			p, err := s.end(ctx, tx, userID, id)
			if err != nil {
				return err
			}
			conversation, partner = sql.NullString{String: id, Valid: true}, sql.NullString{String: p, Valid: true}
		case !errors.Is(err, sql.ErrNoRows):
			return err
		}
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO access_changes (user_id, partner_id, conversation_id, at_us) VALUES ($1, $2, $3, $4)`,
		userID, partner, conversation, now.UnixMicro())
	return err
}

// LastAccessChange is where an instance starts reading access changes: it has
// no websockets from before.
func (s *Service) LastAccessChange(ctx context.Context) (int64, error) {
	var seq int64
	err := s.DB.QueryRowContext(ctx, `SELECT COALESCE(max(seq), 0) FROM access_changes`).Scan(&seq)
	return seq, err
}

// AccessChanges returns the access changes after seq, oldest first.
func (s *Service) AccessChanges(ctx context.Context, after int64) ([]AccessChange, error) {
	rows, err := s.DB.QueryContext(ctx, `SELECT seq, user_id, conversation_id, partner_id FROM access_changes WHERE seq > $1 ORDER BY seq LIMIT 1000`, after)
	if err != nil {
		return nil, fmt.Errorf("chat: access changes: %w", err)
	}
	defer rows.Close()
	var list []AccessChange
	for rows.Next() {
		var c AccessChange
		var conversation, partner sql.NullString
		if err := rows.Scan(&c.Seq, &c.UserID, &conversation, &partner); err != nil {
			return nil, fmt.Errorf("chat: access changes: %w", err)
		}
		c.ConversationID, c.PartnerID = conversation.String, partner.String
		list = append(list, c)
	}
	return list, rows.Err()
}

// trimAccessChanges deletes the access changes every instance has read.
func (s *Service) trimAccessChanges(ctx context.Context, tx *sql.Tx) error {
	_, err := tx.ExecContext(ctx, `DELETE FROM access_changes WHERE at_us < $1`, s.now().Add(-keepAccessChanges).UnixMicro())
	return err
}

// ActivePartner returns userID's active conversation and partner, or "" and
// "" when the user is in none.
func (s *Service) ActivePartner(ctx context.Context, userID string) (conversationID, partnerID string, err error) {
	err = s.DB.QueryRowContext(ctx, `SELECT c.id, CASE WHEN c.user_a = $1 THEN c.user_b ELSE c.user_a END
		FROM active_members m JOIN conversations c ON c.id = m.conversation_id WHERE m.user_id = $1`, userID).Scan(&conversationID, &partnerID)
	if errors.Is(err, sql.ErrNoRows) {
		return "", "", nil
	}
	if err != nil {
		return "", "", fmt.Errorf("chat: partner of %s: %w", userID, err)
	}
	return conversationID, partnerID, nil
}
