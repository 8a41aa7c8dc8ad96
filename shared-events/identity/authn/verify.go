package authn

import (
	"context"
	"fmt"
	"time"

	"github.com/scs-platform/shared-events/contracts"
)

// User is what a system's replica holds about a token's user.
type User struct {
	DisplayName      string
	Role             contracts.Role
	Status           contracts.Status
	TokensValidAfter time.Time
}

// Replica is a system's copy of scs-users' data: the signing keys, the users and
// the revoked sessions. shared-events/identity/usersreplica implements it.
type Replica interface {
	Keys
	// User returns the user, or an error wrapping ErrUnknownUser.
	User(ctx context.Context, id string) (User, error)
	// SessionRevoked reports whether scs-users revoked the session.
	SessionRevoked(ctx context.Context, sid string) (bool, error)
}

// Principal is the user a verified token speaks for.
type Principal struct {
	UserID    string
	SessionID string
	// Role and DisplayName come from the replica, which is newer than the token.
	Role        contracts.Role
	DisplayName string
	// IssuedAt and ExpiresAt are the token's; the session may live longer.
	IssuedAt  time.Time
	ExpiresAt time.Time
}

// Verifier checks a token and then what the replica knows of its user and
// session: everything scs-chat and scs-cards check before they serve a user.
type Verifier struct {
	Parser  Parser
	Replica Replica
}

// NewVerifier returns a Verifier that accepts tokens for audience, with the keys
// of replica.
func NewVerifier(replica Replica, audience string) *Verifier {
	return &Verifier{Parser: Parser{Keys: replica, Audience: audience}, Replica: replica}
}

// Verify returns the principal of a token that passes every check. An error that
// Refused reports as a refusal names the reason; any other error is the
// replica's failure.
func (v *Verifier) Verify(ctx context.Context, token string) (Principal, error) {
	c, err := v.Parser.Parse(ctx, token)
	if err != nil {
		return Principal{}, err
	}
	u, err := v.still(ctx, c.UserID, c.SessionID, c.IssuedAt)
	if err != nil {
		return Principal{}, err
	}
	return Principal{
		UserID:      c.UserID,
		SessionID:   c.SessionID,
		Role:        u.Role,
		DisplayName: u.DisplayName,
		IssuedAt:    c.IssuedAt,
		ExpiresAt:   c.ExpiresAt,
	}, nil
}

// still checks what the replica knows of the token's user and session now.
func (v *Verifier) still(ctx context.Context, userID, sessionID string, issuedAt time.Time) (User, error) {
	u, err := v.Replica.User(ctx, userID)
	if err != nil {
		return User{}, err
	}
	switch u.Status {
	case contracts.StatusActive:
	case contracts.StatusBanned:
		return User{}, ErrBanned
	case contracts.StatusDeleted:
		return User{}, ErrDeleted
	default:
		return User{}, fmt.Errorf("%w: status %q", ErrUnknownUser, u.Status)
	}
	revoked, err := v.Replica.SessionRevoked(ctx, sessionID)
	if err != nil {
		return User{}, err
	}
	if revoked {
		return User{}, ErrRevoked
	}
	// iat has whole seconds, so the comparison does too: a token issued in the
	// second tokens_valid_after moved stands, because scs-users issues the
	// renewed session's token in that very second. The sessions it ended are
	// refused by their revocation, not by this check.
	if issuedAt.Before(u.TokensValidAfter.Truncate(time.Second)) {
		return User{}, ErrStale
	}
	return u, nil
}
