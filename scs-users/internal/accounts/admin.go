package accounts

import (
	"context"
	"database/sql"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/scs-platform/shared-events/contracts"
	"github.com/scs-platform/shared-events/database/sqldb"
)

// MaxReasonLength bounds the reason of a ban or an unban.
const MaxReasonLength = 500

// FindUsers returns up to limit accounts whose address or display name
// contains query (any case), the newest first; an empty query lists the newest.
// Deleted accounts are left out: nothing about them can be found any more.
func (s *Service) FindUsers(ctx context.Context, query string, limit int) ([]User, error) {
	rows, err := s.DB.QueryContext(ctx, `SELECT `+userColumns+` FROM users
		WHERE status <> 'deleted' AND ($1 = '%%' OR email LIKE $1 ESCAPE '\' OR name_folded LIKE $1 ESCAPE '\')
		ORDER BY created_at_us DESC, id`+sqldb.Limit(limit), likePattern(query))
	if err != nil {
		return nil, fmt.Errorf("accounts: find users: %w", err)
	}
	defer rows.Close()
	var out []User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, fmt.Errorf("accounts: find users: %w", err)
		}
		out = append(out, u)
	}
	return out, rows.Err()
}

// Action is one entry of an account's moderation history.
type Action struct {
	ID     string
	Action string // "ban", "unban" or "role"
	// Detail is the reason of a ban or an unban, or the new role.
	Detail string
	// ActorID is the admin who acted; "" for the command line.
	ActorID   string
	ActorName string
	At        time.Time
}

// History returns what admins did to the account, the latest first.
func (s *Service) History(ctx context.Context, userID string) ([]Action, error) {
	rows, err := s.DB.QueryContext(ctx, `SELECT m.id, m.action, m.detail, COALESCE(m.actor_id, ''), COALESCE(a.display_name, ''), m.at_us
		FROM moderation_log m LEFT JOIN users a ON a.id = m.actor_id
		WHERE m.user_id = $1 ORDER BY m.at_us DESC, m.id DESC`, userID)
	if err != nil {
		return nil, fmt.Errorf("accounts: history: %w", err)
	}
	defer rows.Close()
	var out []Action
	for rows.Next() {
		var a Action
		var at int64
		if err := rows.Scan(&a.ID, &a.Action, &a.Detail, &a.ActorID, &a.ActorName, &at); err != nil {
			return nil, fmt.Errorf("accounts: history: %w", err)
		}
		a.At = fromMicros(at)
		out = append(out, a)
	}
	return out, rows.Err()
}

func logAction(ctx context.Context, tx *sql.Tx, userID, actorID, action, detail string, now time.Time) error {
	var actor any
	if actorID != "" {
		actor = actorID
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO moderation_log (id, user_id, actor_id, action, detail, at_us) VALUES ($1, $2, $3, $4, $5, $6)`,
		uuid.Must(uuid.NewV7()).String(), userID, actor, action, detail, now.UnixMicro())
	if err != nil {
		return fmt.Errorf("accounts: log %s: %w", action, err)
	}
	return nil
}

// lockWithAdmins locks the account id for a change that may take away an
// admin (a ban, a role change, a deletion) and reports whether it is the last
// active admin. A deleted account is ErrNotFound.
//
// The admins are locked before the account, in the order of their ids, so that
// two admins demoting or banning each other at once on PostgreSQL take turns
// instead of deadlocking, and the second sees the first's change.
func lockWithAdmins(ctx context.Context, db *sqldb.DB, tx *sql.Tx, id string) (u User, last bool, err error) {
	rows, err := tx.QueryContext(ctx, `SELECT id FROM users WHERE role = 'admin' AND status = 'active' ORDER BY id`+db.ForUpdate())
	if err != nil {
		return User{}, false, fmt.Errorf("accounts: lock admins: %w", err)
	}
	admins := 0
	for rows.Next() {
		admins++
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return User{}, false, fmt.Errorf("accounts: lock admins: %w", err)
	}
	if u, err = lockUser(ctx, db, tx, id); err != nil {
		return User{}, false, err
	}
	if u.Status == contracts.StatusDeleted {
		return User{}, false, ErrNotFound
	}
	return u, u.IsAdmin() && admins <= 1, nil
}

func checkReason(reason string) (string, error) {
	if msg := disguising("reason", reason); msg != "" {
		return "", FieldErrors{"reason": msg}
	}
	r, ok := cleanText(reason)
	switch {
	case !ok:
		return "", FieldErrors{"reason": "Use letters, digits, spaces and punctuation only."}
	case r == "":
		return "", FieldErrors{"reason": "Say why, in a few words: the user and other admins will see it."}
	case utf8.RuneCountInString(r) > MaxReasonLength:
		return "", FieldErrors{"reason": fmt.Sprintf("Use at most %d characters.", MaxReasonLength)}
	}
	return r, nil
}

// Ban suspends the account: it can no longer log in, every session ends and
// every token is refused, here and, within the replication lag, elsewhere.
// actorID is the admin ("" for the command line); reason is required. Banning
// a banned account changes nothing. within, if given, runs in the ban's
// transaction, to close the reports that led to it say.
func (s *Service) Ban(ctx context.Context, actorID, userID, reason string, within ...func(*sql.Tx) error) error {
	r, err := checkReason(reason)
	if err != nil {
		return err
	}
	if actorID == userID {
		return ErrSelf
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
		for _, fn := range within {
			if err := fn(tx); err != nil {
				return err
			}
		}
		if u.Status != contracts.StatusActive {
			return nil
		}
		ended, err := revokeSessions(ctx, tx, now, reasonBanned, "", `user_id = $4`, u.ID)
		if err != nil {
			return err
		}
		u.Status, u.TokensValidAfter = contracts.StatusBanned, now.Truncate(time.Second)
		saved, err := saveUser(ctx, tx, u, now)
		if err != nil {
			return err
		}
		if err := logAction(ctx, tx, u.ID, actorID, "ban", r, now); err != nil {
			return err
		}
		if err := s.publishUser(ctx, tx, saved, contracts.UserChangeStatus, contracts.UserChangeTokensValidAfter); err != nil {
			return err
		}
		return s.publishRevoked(ctx, tx, now, ended)
	})
}

// Unban lifts a ban; the user may log in again. reason is required.
func (s *Service) Unban(ctx context.Context, actorID, userID, reason string) error {
	r, err := checkReason(reason)
	if err != nil {
		return err
	}
	now := s.now()
	return s.DB.InTx(ctx, func(tx *sql.Tx) error {
		u, err := lockUser(ctx, s.DB, tx, userID)
		if err != nil {
			return err
		}
		if u.Status == contracts.StatusDeleted {
			return ErrNotFound
		}
		if u.Status != contracts.StatusBanned {
			return nil
		}
		u.Status = contracts.StatusActive
		saved, err := saveUser(ctx, tx, u, now)
		if err != nil {
			return err
		}
		if err := logAction(ctx, tx, u.ID, actorID, "unban", r, now); err != nil {
			return err
		}
		return s.publishUser(ctx, tx, saved, contracts.UserChangeStatus)
	})
}

// SetRole gives the account role. Its tokens_valid_after moves to now, so
// that its sessions are renewed (a new id on a privilege change) and no token
// carries the old role. Taking the admin role from the last active admin is
// ErrLastAdmin. actorID is the admin ("" for the command line).
func (s *Service) SetRole(ctx context.Context, actorID, userID string, role contracts.Role) error {
	if role != contracts.RoleUser && role != contracts.RoleAdmin {
		return FieldErrors{"role": "Choose user or admin."}
	}
	now := s.now()
	return s.DB.InTx(ctx, func(tx *sql.Tx) error {
		u, last, err := lockWithAdmins(ctx, s.DB, tx, userID)
		if err != nil {
			return err
		}
		if u.Role == role {
			return nil
		}
		if last {
			return ErrLastAdmin
		}
		u.Role, u.TokensValidAfter = role, now.Truncate(time.Second)
		saved, err := saveUser(ctx, tx, u, now)
		if err != nil {
			return err
		}
		if err := logAction(ctx, tx, u.ID, actorID, "role", string(role), now); err != nil {
			return err
		}
		return s.publishUser(ctx, tx, saved, contracts.UserChangeRole, contracts.UserChangeTokensValidAfter)
	})
}
