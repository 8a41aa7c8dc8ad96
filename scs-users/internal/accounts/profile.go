package accounts

import (
	"context"
	"database/sql"
	"errors"
	"strings"

	"github.com/scs-platform/shared-events/contracts"

	"github.com/scs-platform/scs-users/internal/password"
)

// Rename changes the user's display name. Bad input is a FieldErrors for the
// field "display_name"; the same name again changes (and publishes) nothing.
func (s *Service) Rename(ctx context.Context, userID, displayName string) (User, error) {
	name, msg := checkDisplayName(displayName)
	if msg != "" {
		return User{}, FieldErrors{"display_name": msg}
	}
	now := s.now()
	var out User
	err := s.DB.InTx(ctx, func(tx *sql.Tx) error {
		u, err := lockUser(ctx, s.DB, tx, userID)
		if err != nil {
			return err
		}
		if u.DisplayName == name {
			out = u
			return nil
		}
		u.DisplayName = name
		if out, err = saveUser(ctx, tx, u, now); err != nil {
			return err
		}
		return s.publishUser(ctx, tx, out, contracts.UserChangeDisplayName)
	})
	return out, err
}

// ChangePassword is what the password form sends.
type ChangePassword struct {
	Current string
	New     string
	// Session is the session the change is made from: it is renewed, every
	// other session of the user ends.
	Session string
	Client  Client
}

// ChangePassword checks the current password, sets the new one, ends the
// user's other sessions and renews the current one, whose replacement it
// returns. A wrong current password or a new one the policy refuses is a
// FieldErrors ("current_password", "new_password").
func (s *Service) ChangePassword(ctx context.Context, userID string, in ChangePassword) (Session, error) {
	u, err := s.UserByID(ctx, userID)
	if err != nil {
		return Session{}, err
	}
	errs := FieldErrors{}
	if in.Current == "" {
		errs["current_password"] = "Enter your current password."
	}
	local, _, _ := strings.Cut(u.Email, "@")
	if err := password.Check(in.New, u.Email, local, u.DisplayName); err != nil {
		errs["new_password"] = policyMessage(err)
	}
	if len(errs) > 0 {
		return Session{}, errs
	}
	if err := s.checkPassword(ctx, u, in.Current, "current_password"); err != nil {
		return Session{}, err
	}
	hash, err := s.Hasher.Hash(ctx, in.New)
	if err != nil {
		return Session{}, err
	}
	now := s.now()
	var next Session
	err = s.DB.InTx(ctx, func(tx *sql.Tx) error {
		locked, err := lockUser(ctx, s.DB, tx, userID)
		if err != nil {
			return err
		}
		locked.passwordHash = hash
		e, err := s.endOtherSessions(ctx, tx, locked, in.Session, reasonRevoked, now, in.Client)
		if err != nil {
			return err
		}
		next = e.next
		return s.publishEnded(ctx, tx, e, now)
	})
	return next, err
}

// checkPassword confirms a logged-in user's password before a change that
// needs it. A wrong one is a FieldErrors for field. The attempts count against
// the account like logins do, so that a stolen session cannot be used to guess
// the password at leisure.
func (s *Service) checkPassword(ctx context.Context, u User, pw, field string) error {
	limit := s.accountLimit(u.Email)
	if err := s.take(ctx, limit); err != nil {
		return err
	}
	ok, _, err := s.Hasher.Verify(ctx, pw, u.passwordHash)
	if err != nil {
		return err
	}
	if !ok {
		return FieldErrors{field: "This is not your current password."}
	}
	if err := s.Limiter.Refund(ctx, limit); err != nil && !errors.Is(err, context.Canceled) {
		s.Logger.WarnContext(ctx, "refund password check", "err", err)
	}
	return nil
}
