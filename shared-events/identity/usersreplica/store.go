package usersreplica

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/scs-platform/shared-events/contracts"
	"github.com/scs-platform/shared-events/database/sqldb"
	"github.com/scs-platform/shared-events/identity/authn"
)

// Store reads the replica. It is the authn.Replica of a consuming system: what
// its Verifier checks tokens against.
type Store struct {
	DB *sqldb.DB
}

// NewVerifier returns the verifier of session tokens for audience (see
// authn.Audience) against the replica in db.
func NewVerifier(db *sqldb.DB, audience string) *authn.Verifier {
	return authn.NewVerifier(Store{DB: db}, audience)
}

// SigningKey returns the public key kid, or an error wrapping authn.ErrUnknownKey.
func (s Store) SigningKey(ctx context.Context, kid string) (authn.Key, error) {
	var alg, public string
	var nbf, naf int64
	err := s.DB.QueryRowContext(ctx, `SELECT algorithm, public_key, not_before_us, not_after_us FROM signing_keys WHERE kid = $1`,
		kid).Scan(&alg, &public, &nbf, &naf)
	if errors.Is(err, sql.ErrNoRows) {
		return authn.Key{}, fmt.Errorf("%w: %q", authn.ErrUnknownKey, kid)
	}
	if err != nil {
		return authn.Key{}, fmt.Errorf("usersreplica: signing key %q: %w", kid, err)
	}
	if alg != contracts.AlgorithmEdDSA {
		return authn.Key{}, fmt.Errorf("%w: %q is a %s key", authn.ErrUnknownKey, kid, alg)
	}
	// The handler stored only keys that passed the contract, so this decodes.
	key, err := contracts.SigningKeyPublishedV1{PublicKey: public}.Key()
	if err != nil {
		return authn.Key{}, fmt.Errorf("usersreplica: signing key %q: %w", kid, err)
	}
	return authn.Key{ID: kid, Public: key, NotBefore: time.UnixMicro(nbf), NotAfter: time.UnixMicro(naf)}, nil
}

// User returns what the replica knows of the user, or an error wrapping
// authn.ErrUnknownUser.
func (s Store) User(ctx context.Context, id string) (authn.User, error) {
	var u authn.User
	var role, status string
	var tva int64
	err := s.DB.QueryRowContext(ctx, `SELECT display_name, role, status, tokens_valid_after_us FROM users_replica WHERE user_id = $1`,
		id).Scan(&u.DisplayName, &role, &status, &tva)
	if errors.Is(err, sql.ErrNoRows) {
		return authn.User{}, fmt.Errorf("%w: %s", authn.ErrUnknownUser, id)
	}
	if err != nil {
		return authn.User{}, fmt.Errorf("usersreplica: user %s: %w", id, err)
	}
	u.Role, u.Status, u.TokensValidAfter = contracts.Role(role), contracts.Status(status), time.UnixMicro(tva).UTC()
	return u, nil
}

// SessionRevoked reports whether scs-users revoked the session.
func (s Store) SessionRevoked(ctx context.Context, sid string) (bool, error) {
	var n int
	if err := s.DB.QueryRowContext(ctx, `SELECT count(*) FROM revoked_sessions WHERE session_id = $1`, sid).Scan(&n); err != nil {
		return false, fmt.Errorf("usersreplica: session %s: %w", sid, err)
	}
	return n > 0, nil
}
