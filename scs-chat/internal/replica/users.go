// Package replica holds scs-chat's reactions to other systems' events: it keeps
// the local copy of exactly the scs-users data that chat needs (who a user is,
// whether their tokens still count, which keys sign them). The consumer in
// shared-events runs each reaction once per event, in the transaction that also
// records the event in the inbox, and only for a newer aggregate version.
package replica

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/scs-platform/shared-events/cloudevent"
	"github.com/scs-platform/shared-events/consumer"
	"github.com/scs-platform/shared-events/contracts"
)

// UsersHandlers are chat's reactions to scs-users' events, by type.
func UsersHandlers() map[string]consumer.Handler {
	return map[string]consumer.Handler{
		contracts.TypeUserRegisteredV1:      userRegistered,
		contracts.TypeUserUpdatedV1:         userUpdated,
		contracts.TypeUserDeletedV1:         userDeleted,
		contracts.TypeSessionRevokedV1:      sessionRevoked,
		contracts.TypeSigningKeyPublishedV1: signingKeyPublished,
	}
}

// userRegistered stores a new user's snapshot.
func userRegistered(ctx context.Context, tx *sql.Tx, ev cloudevent.Event) error {
	p, err := contracts.Decode[contracts.UserRegisteredV1](ev)
	if err != nil {
		return err
	}
	return upsertUser(ctx, tx, p.UserSnapshot)
}

// userUpdated replaces the user's snapshot: a profile or role change, a ban or an
// unban, a "log out everywhere" (tokens_valid_after moved).
func userUpdated(ctx context.Context, tx *sql.Tx, ev cloudevent.Event) error {
	p, err := contracts.Decode[contracts.UserUpdatedV1](ev)
	if err != nil {
		return err
	}
	return upsertUser(ctx, tx, p.UserSnapshot)
}

// userDeleted forgets the user's name but keeps the row, so that a token of the
// deleted user is refused and old conversations still resolve.
func userDeleted(ctx context.Context, tx *sql.Tx, ev cloudevent.Event) error {
	p, err := contracts.Decode[contracts.UserDeletedV1](ev)
	if err != nil {
		return err
	}
	return upsertUser(ctx, tx, contracts.UserSnapshot{
		UserID:           p.UserID,
		Status:           contracts.StatusDeleted,
		TokensValidAfter: p.DeletedAt,
	})
}

func upsertUser(ctx context.Context, tx *sql.Tx, u contracts.UserSnapshot) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO users_replica (user_id, display_name, role, status, tokens_valid_after_us)
		VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (user_id) DO UPDATE SET display_name = excluded.display_name, role = excluded.role,
			status = excluded.status, tokens_valid_after_us = excluded.tokens_valid_after_us`,
		u.UserID, u.DisplayName, string(u.Role), string(u.Status), micros(u.TokensValidAfter))
	if err != nil {
		return fmt.Errorf("replica: upsert user %s: %w", u.UserID, err)
	}
	return nil
}

// sessionRevoked remembers a revoked session, so that its tokens are refused
// before they expire.
func sessionRevoked(ctx context.Context, tx *sql.Tx, ev cloudevent.Event) error {
	p, err := contracts.Decode[contracts.SessionRevokedV1](ev)
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO revoked_sessions (session_id, user_id, revoked_at_us) VALUES ($1, $2, $3)
		ON CONFLICT (session_id) DO NOTHING`, p.SessionID, p.UserID, micros(p.RevokedAt))
	if err != nil {
		return fmt.Errorf("replica: revoke session %s: %w", p.SessionID, err)
	}
	return nil
}

// signingKeyPublished stores a public key that session tokens may be signed with.
func signingKeyPublished(ctx context.Context, tx *sql.Tx, ev cloudevent.Event) error {
	p, err := contracts.Decode[contracts.SigningKeyPublishedV1](ev)
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO signing_keys (kid, algorithm, public_key, not_before_us, not_after_us)
		VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (kid) DO UPDATE SET algorithm = excluded.algorithm, public_key = excluded.public_key,
			not_before_us = excluded.not_before_us, not_after_us = excluded.not_after_us`,
		p.KeyID, p.Algorithm, p.PublicKey, micros(p.NotBefore), micros(p.NotAfter))
	if err != nil {
		return fmt.Errorf("replica: store signing key %s: %w", p.KeyID, err)
	}
	return nil
}

func micros(t time.Time) int64 { return t.UnixMicro() }
