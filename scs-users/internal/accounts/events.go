package accounts

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/scs-platform/shared-events/contracts"
)

// aggregateUser is the aggregate of the user events, whose history Forget
// erases when an account is deleted.
const aggregateUser = "users.user"

func (u User) snapshot() contracts.UserSnapshot {
	return contracts.UserSnapshot{
		UserID:           u.ID,
		DisplayName:      u.DisplayName,
		Role:             u.Role,
		Status:           u.Status,
		TokensValidAfter: u.TokensValidAfter,
	}
}

// publishUser appends the event that tells the other systems about u as saved:
// registered for the first version, updated (with what changed) for later ones.
// Events go last in a transaction: Append serialises the tails of event-producing
// transactions on PostgreSQL, and a transaction that still wanted a row lock
// after it could deadlock with one waiting for that lock.
func (s *Service) publishUser(ctx context.Context, tx *sql.Tx, u User, changes ...contracts.UserChange) error {
	var p contracts.Payload
	if u.Version == 1 {
		p = contracts.UserRegisteredV1{UserSnapshot: u.snapshot()}
	} else {
		p = contracts.UserUpdatedV1{UserSnapshot: u.snapshot(), Changes: changes}
	}
	return s.append(ctx, tx, p, u.Version)
}

// publishRevoked appends a session revoked event per ended session. A session
// is revoked once, so its aggregate's version is always 1.
func (s *Service) publishRevoked(ctx context.Context, tx *sql.Tx, at time.Time, ended []revoked) error {
	for _, r := range ended {
		if err := s.append(ctx, tx, contracts.SessionRevokedV1{SessionID: r.sessionID, UserID: r.userID, RevokedAt: at}, 1); err != nil {
			return err
		}
	}
	return nil
}

func (s *Service) append(ctx context.Context, tx *sql.Tx, p contracts.Payload, version int64) error {
	ev, err := contracts.NewEvent(p, version)
	if err != nil {
		return fmt.Errorf("accounts: %s: %w", p.EventType(), err)
	}
	return s.Outbox.Append(ctx, tx, ev)
}
