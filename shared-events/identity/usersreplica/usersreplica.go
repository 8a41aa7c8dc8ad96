// Package usersreplica keeps a consuming system's copy of the identity data
// scs-users publishes: who a user is, whether their tokens still count, and which
// keys sign them. Every system that verifies scs-users' tokens needs exactly this
// copy, so it is part of the contract's replication, not any system's business
// logic; a system's own reactions to users' events live in that system.
//
// The consumer in shared-events runs each reaction once per event, in the
// transaction that also records the event in the inbox, and only for a newer
// aggregate version.
package usersreplica

import (
	"context"
	"database/sql"
	"embed"
	"fmt"

	"github.com/scs-platform/shared-events/contracts"
	"github.com/scs-platform/shared-events/contracts/cloudevent"
	"github.com/scs-platform/shared-events/database/sqldb"
	"github.com/scs-platform/shared-events/eventing/consumer"
)

//go:embed migrations
var migrations embed.FS

// Migrate creates or upgrades the users_replica, revoked_sessions and
// signing_keys tables in db. They are versioned under their own component name,
// apart from the consuming system's own schema.
func Migrate(ctx context.Context, db *sqldb.DB) error {
	return db.Migrate(ctx, "usersreplica", migrations, "migrations")
}

// Handlers are the reactions to scs-users' events, by type, for a
// consumer.Consumer whose Owner is "users".
func Handlers() map[string]consumer.Handler {
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
// deleted user is refused and the consumer's old records that name the user
// still resolve.
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
		u.UserID, u.DisplayName, string(u.Role), string(u.Status), u.TokensValidAfter.UnixMicro())
	if err != nil {
		return fmt.Errorf("usersreplica: upsert user %s: %w", u.UserID, err)
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
		ON CONFLICT (session_id) DO NOTHING`, p.SessionID, p.UserID, p.RevokedAt.UnixMicro())
	if err != nil {
		return fmt.Errorf("usersreplica: revoke session %s: %w", p.SessionID, err)
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
		p.KeyID, p.Algorithm, p.PublicKey, p.NotBefore.UnixMicro(), p.NotAfter.UnixMicro())
	if err != nil {
		return fmt.Errorf("usersreplica: store signing key %s: %w", p.KeyID, err)
	}
	return nil
}
