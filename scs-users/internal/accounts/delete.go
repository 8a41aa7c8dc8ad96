package accounts

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/scs-platform/shared-events/contracts"
)

// DeleteAccount deletes the user's account, from the session sessionID, after
// checking their password (a wrong one is a FieldErrors for "password"). Every session ends, the sessions'
// devices and addresses are deleted, the row keeps only the id (so that records
// naming it still resolve) and the deletion is published. The user's earlier
// events leave the outbox, which is also the feed other systems catch up from:
// they held the display name, and the deleted event, which stays, says all a
// consumer needs. The only admin cannot leave (ErrLastAdmin) before making
// someone else admin.
func (s *Service) DeleteAccount(ctx context.Context, userID, sessionID, pw string) error {
	checked, err := s.UserByID(ctx, userID)
	if err != nil {
		return err
	}
	if pw == "" {
		return FieldErrors{"password": "Enter your password to confirm."}
	}
	if err := s.checkPassword(ctx, checked, pw, "password"); err != nil {
		return err
	}
	now := s.now()
	return s.DB.InTx(ctx, func(tx *sql.Tx) error {
		u, last, err := lockWithAdmins(ctx, s.DB, tx, userID)
		if err != nil {
			return err
		}
		if last {
			return ErrLastAdmin
		}
		// The password was checked before this transaction: a ban, a password
		// change or a "log out other devices" may have committed since, and
		// none of them may be undone by a deletion started before it.
		if u.Status == contracts.StatusBanned {
			return ErrSuspended
		}
		sess, err := getSession(ctx, tx, sessionID)
		if err != nil || u.passwordHash != checked.passwordHash || !sess.RevokedAt.IsZero() || sess.UserID != u.ID {
			return ErrSessionEnded
		}
		ended, err := revokeSessions(ctx, tx, now, reasonDeleted, "", `user_id = $4`, u.ID)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE user_id = $1`, u.ID); err != nil {
			return fmt.Errorf("accounts: delete sessions: %w", err)
		}
		u.Email, u.DisplayName, u.passwordHash = "", "", ""
		u.Status, u.TokensValidAfter = contracts.StatusDeleted, now.Truncate(time.Second)
		saved, err := saveUser(ctx, tx, u, now)
		if err != nil {
			return err
		}
		if _, err := s.Outbox.Forget(ctx, tx, aggregateUser, u.ID, saved.Version); err != nil {
			return err
		}
		if err := s.append(ctx, tx, contracts.UserDeletedV1{UserID: u.ID, DeletedAt: now}, saved.Version); err != nil {
			return err
		}
		return s.publishRevoked(ctx, tx, now, ended)
	})
}
