package accounts

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/scs-platform/shared-events/contracts"
	"github.com/scs-platform/shared-events/database/sqldb"
)

// querier is a *sql.DB or a *sql.Tx: reads run on either, writes in a
// transaction.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

const userColumns = `id, COALESCE(email, ''), display_name, password_hash, role, status, tokens_valid_after_us, version, created_at_us, updated_at_us`

type scanner interface{ Scan(dest ...any) error }

func scanUser(row scanner) (User, error) {
	var u User
	var role, status string
	var tva, created, updated int64
	if err := row.Scan(&u.ID, &u.Email, &u.DisplayName, &u.passwordHash, &role, &status, &tva, &u.Version, &created, &updated); err != nil {
		return User{}, err
	}
	u.Role, u.Status = contracts.Role(role), contracts.Status(status)
	u.TokensValidAfter, u.CreatedAt, u.UpdatedAt = fromMicros(tva), fromMicros(created), fromMicros(updated)
	return u, nil
}

func getUser(ctx context.Context, q querier, where string, arg any) (User, error) {
	u, err := scanUser(q.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE `+where, arg))
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, ErrNotFound
	}
	if err != nil {
		return User{}, fmt.Errorf("accounts: read user: %w", err)
	}
	return u, nil
}

// lockUser reads a user in tx for an update. PostgreSQL locks the row, so that
// two changes to one account (a rename and a ban, say) take turns and each
// publishes the snapshot it wrote; SQLite's write transactions take turns anyway.
func lockUser(ctx context.Context, db *sqldb.DB, tx *sql.Tx, id string) (User, error) {
	return getUser(ctx, tx, `id = $1`+db.ForUpdate(), id)
}

// UserByID returns the account id.
func (s *Service) UserByID(ctx context.Context, id string) (User, error) {
	return getUser(ctx, s.DB, `id = $1`, id)
}

// UserByEmail returns the account with the address email, in any case.
func (s *Service) UserByEmail(ctx context.Context, email string) (User, error) {
	return getUser(ctx, s.DB, `email = $1`, normaliseEmail(email))
}

// saveUser writes u's mutable columns, raises its version and returns the row
// as stored, ready to be published.
func saveUser(ctx context.Context, tx *sql.Tx, u User, now time.Time) (User, error) {
	var email any
	if u.Email != "" {
		email = u.Email
	}
	saved, err := scanUser(tx.QueryRowContext(ctx, `UPDATE users SET email = $2, display_name = $3, name_folded = $4, password_hash = $5,
		role = $6, status = $7, tokens_valid_after_us = $8, version = version + 1, updated_at_us = $9
		WHERE id = $1 RETURNING `+userColumns,
		u.ID, email, u.DisplayName, foldName(u.DisplayName), u.passwordHash, string(u.Role), string(u.Status), u.TokensValidAfter.UnixMicro(), now.UnixMicro()))
	if err != nil {
		return User{}, fmt.Errorf("accounts: save user %s: %w", u.ID, err)
	}
	return saved, nil
}

const sessionColumns = `id, user_id, created_at_us, last_seen_us, expires_at_us, user_agent, ip,
	COALESCE(revoked_at_us, 0), revoked_reason, COALESCE(replaced_by, '')`

func scanSession(row scanner) (Session, error) {
	var s Session
	var created, seen, expires, revoked int64
	if err := row.Scan(&s.ID, &s.UserID, &created, &seen, &expires, &s.UserAgent, &s.IP, &revoked, &s.RevokedReason, &s.ReplacedBy); err != nil {
		return Session{}, err
	}
	s.CreatedAt, s.LastSeen, s.ExpiresAt = fromMicros(created), fromMicros(seen), fromMicros(expires)
	if revoked != 0 {
		s.RevokedAt = fromMicros(revoked)
	}
	return s, nil
}

func getSession(ctx context.Context, q querier, id string) (Session, error) {
	s, err := scanSession(q.QueryRowContext(ctx, `SELECT `+sessionColumns+` FROM sessions WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Session{}, ErrNotFound
	}
	if err != nil {
		return Session{}, fmt.Errorf("accounts: read session: %w", err)
	}
	return s, nil
}

func insertSession(ctx context.Context, tx *sql.Tx, s Session) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO sessions (id, user_id, created_at_us, last_seen_us, expires_at_us, user_agent, ip)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		s.ID, s.UserID, s.CreatedAt.UnixMicro(), s.LastSeen.UnixMicro(), s.ExpiresAt.UnixMicro(), s.UserAgent, s.IP)
	if err != nil {
		return fmt.Errorf("accounts: insert session: %w", err)
	}
	return nil
}

// liveSessions returns the user's sessions that are not revoked, newest first.
// Expired ones are included: the caller knows the clock and the policy.
func liveSessions(ctx context.Context, q querier, userID string) ([]Session, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+sessionColumns+` FROM sessions
		WHERE user_id = $1 AND revoked_at_us IS NULL ORDER BY last_seen_us DESC, id`, userID)
	if err != nil {
		return nil, fmt.Errorf("accounts: list sessions: %w", err)
	}
	defer rows.Close()
	var out []Session
	for rows.Next() {
		s, err := scanSession(rows)
		if err != nil {
			return nil, fmt.Errorf("accounts: list sessions: %w", err)
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// foldName is the form of a display name that the admins' search matches:
// folded by Go, which knows all of Unicode, where SQLite's lower() knows ASCII.
func foldName(name string) string { return strings.ToLower(name) }

// likePattern turns user input into a LIKE pattern that matches it anywhere,
// with LIKE's own wildcards escaped.
func likePattern(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return "%" + r.Replace(strings.ToLower(s)) + "%"
}

func fromMicros(us int64) time.Time { return time.UnixMicro(us).UTC() }
