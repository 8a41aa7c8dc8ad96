package accounts

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/scs-platform/shared-events/contracts"
)

// Why sessions end, as stored in revoked_reason.
const (
	reasonLogout  = "logout"  // the user logged out here
	reasonRevoked = "revoked" // the user ended it from another device
	reasonRenewed = "renewed" // replaced by a new id after a privilege change
	reasonBanned  = "banned"
	reasonDeleted = "deleted"
)

// renewalGrace is how long a renewed session still leads to its replacement. A
// browser that sent two requests with the old token gets the new session for
// both, rather than a logout for the one that lost the race.
const renewalGrace = time.Minute

// touchEvery is how stale a session's last-seen time may grow before a request
// writes it again: often enough for the idle timeout and the list of sessions,
// rarely enough that reading a page is not a write.
const touchEvery = time.Minute

// keepEnded is how long an ended session's row stays, for renewal races and for
// the record, before Sweep removes it.
const keepEnded = 7 * 24 * time.Hour

// revoked is a session that revokeSessions ended.
type revoked struct{ sessionID, userID string }

// revokeSessions ends the live sessions the where clause selects and returns
// them. The clause's own arguments are $4 onwards.
func revokeSessions(ctx context.Context, tx *sql.Tx, now time.Time, reason, replacedBy, where string, args ...any) ([]revoked, error) {
	var repl any
	if replacedBy != "" {
		repl = replacedBy
	}
	rows, err := tx.QueryContext(ctx, `UPDATE sessions SET revoked_at_us = $1, revoked_reason = $2, replaced_by = $3
		WHERE revoked_at_us IS NULL AND (`+where+`) RETURNING id, user_id`,
		append([]any{now.UnixMicro(), reason, repl}, args...)...)
	if err != nil {
		return nil, fmt.Errorf("accounts: revoke sessions: %w", err)
	}
	defer rows.Close()
	var out []revoked
	for rows.Next() {
		var r revoked
		if err := rows.Scan(&r.sessionID, &r.userID); err != nil {
			return nil, fmt.Errorf("accounts: revoke sessions: %w", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// alive reports whether a session that is not revoked still counts at now.
func (s *Service) alive(sess Session, now time.Time) bool {
	return now.Before(sess.ExpiresAt) && now.Before(sess.LastSeen.Add(s.Policy.Idle))
}

// Resume returns the session sid of userID and its user, for a request that
// presented a token of that session issued at issued with role. It ends in
// ErrSessionEnded when the session was revoked, went idle, passed its maximum
// age, or its user may no longer log in.
//
// When the token predates the user's tokens_valid_after, or carries another
// role (a privilege change), the session is renewed: a new id takes
// over, the old one is revoked. The caller compares the returned session's id
// with the token's and issues a new token when they differ. The session's
// last-seen time and address are brought up to date on the way.
func (s *Service) Resume(ctx context.Context, sid, userID string, issued time.Time, role contracts.Role, c Client) (Session, User, error) {
	now := s.now()
	sess, err := getSession(ctx, s.DB, sid)
	if errors.Is(err, ErrNotFound) {
		return Session{}, User{}, ErrSessionEnded
	}
	if err != nil {
		return Session{}, User{}, err
	}
	if !sess.RevokedAt.IsZero() {
		if sess, err = s.replacement(ctx, sess, now); err != nil {
			return Session{}, User{}, err
		}
	}
	if sess.UserID != userID || !s.alive(sess, now) {
		return Session{}, User{}, ErrSessionEnded
	}
	u, err := s.UserByID(ctx, userID)
	if err != nil {
		return Session{}, User{}, err
	}
	if u.Status != contracts.StatusActive {
		return Session{}, User{}, ErrSessionEnded
	}
	// The role too: a role change in the second the token was issued leaves
	// tokens_valid_after, which counts whole seconds, where the token is.
	if sess.ID == sid && (issued.Before(u.TokensValidAfter) || role != u.Role) {
		if sess, err = s.renew(ctx, sess, now, c); err != nil {
			return Session{}, User{}, err
		}
		return sess, u, nil
	}
	c = c.normalised()
	if now.Sub(sess.LastSeen) >= touchEvery || c.IP != sess.IP || c.UserAgent != sess.UserAgent {
		if _, err := s.DB.ExecContext(ctx, `UPDATE sessions SET last_seen_us = $2, ip = $3, user_agent = $4 WHERE id = $1`,
			sess.ID, now.UnixMicro(), c.IP, c.UserAgent); err != nil {
			return Session{}, User{}, fmt.Errorf("accounts: touch session: %w", err)
		}
		sess.LastSeen, sess.IP, sess.UserAgent = now, c.IP, c.UserAgent
	}
	return sess, u, nil
}

// replacement follows a session renewed a moment ago to the one that took
// over; any other ended session has ended.
func (s *Service) replacement(ctx context.Context, sess Session, now time.Time) (Session, error) {
	if sess.RevokedReason != reasonRenewed || sess.ReplacedBy == "" || now.Sub(sess.RevokedAt) > renewalGrace {
		return Session{}, ErrSessionEnded
	}
	next, err := getSession(ctx, s.DB, sess.ReplacedBy)
	if errors.Is(err, ErrNotFound) {
		return Session{}, ErrSessionEnded
	}
	if err != nil {
		return Session{}, err
	}
	if !next.RevokedAt.IsZero() {
		return Session{}, ErrSessionEnded
	}
	return next, nil
}

// renew gives sess a new id: a new row with the same absolute end takes over,
// and the old one is revoked (and published) as renewed.
func (s *Service) renew(ctx context.Context, sess Session, now time.Time, c Client) (Session, error) {
	next := s.newSession(sess.UserID, c, now)
	next.ExpiresAt = sess.ExpiresAt
	var lost bool
	err := s.DB.InTx(ctx, func(tx *sql.Tx) error {
		// The user's row first, as every change of a user's sessions takes it:
		// a "log out other devices" or a deletion at the same moment then
		// either sees the new session or comes after it, and on PostgreSQL the
		// new session's foreign key check does not deadlock with a deletion.
		u, err := lockUser(ctx, s.DB, tx, sess.UserID)
		if err != nil {
			return err
		}
		if u.Status != contracts.StatusActive {
			return ErrSessionEnded
		}
		if err := insertSession(ctx, tx, next); err != nil {
			return err
		}
		ended, err := revokeSessions(ctx, tx, now, reasonRenewed, next.ID, `id = $4`, sess.ID)
		if err != nil {
			return err
		}
		if len(ended) == 0 {
			// Another request renewed it first; use its replacement instead.
			lost = true
			return errRollback
		}
		return s.publishRevoked(ctx, tx, now, ended)
	})
	if lost {
		again, err := getSession(ctx, s.DB, sess.ID)
		if err != nil {
			return Session{}, err
		}
		return s.replacement(ctx, again, now)
	}
	if err != nil {
		return Session{}, err
	}
	return next, nil
}

// errRollback ends a transaction that found nothing to do.
var errRollback = errors.New("rolled back")

// Sessions returns the user's live sessions, the most recently used first.
func (s *Service) Sessions(ctx context.Context, userID string) ([]Session, error) {
	all, err := liveSessions(ctx, s.DB, userID)
	if err != nil {
		return nil, err
	}
	now := s.now()
	out := all[:0]
	for _, sess := range all {
		if s.alive(sess, now) {
			out = append(out, sess)
		}
	}
	return out, nil
}

// LogOut ends the session sid. A session that has already ended is no error:
// the user wanted out, and is out.
func (s *Service) LogOut(ctx context.Context, sid string) error {
	now := s.now()
	return s.DB.InTx(ctx, func(tx *sql.Tx) error {
		ended, err := revokeSessions(ctx, tx, now, reasonLogout, "", `id = $4`, sid)
		if err != nil {
			return err
		}
		return s.publishRevoked(ctx, tx, now, ended)
	})
}

// RevokeSession ends one of the user's own sessions, from the list of
// sessions. A session of another user, or one that has ended, is ErrNotFound:
// whether such a session exists is none of the asker's business.
func (s *Service) RevokeSession(ctx context.Context, userID, sid string) error {
	now := s.now()
	return s.DB.InTx(ctx, func(tx *sql.Tx) error {
		ended, err := revokeSessions(ctx, tx, now, reasonRevoked, "", `id = $4 AND user_id = $5`, sid, userID)
		if err != nil {
			return err
		}
		if len(ended) == 0 {
			return ErrNotFound
		}
		return s.publishRevoked(ctx, tx, now, ended)
	})
}

// RevokeOtherSessions ends every session of the user but current, which is
// renewed; the returned session replaces it. The user's tokens_valid_after
// moves to now, so that no token of an ended session outlives the revocation
// events, even on a system that missed one.
func (s *Service) RevokeOtherSessions(ctx context.Context, userID, current string, c Client) (Session, error) {
	now := s.now()
	var next Session
	err := s.DB.InTx(ctx, func(tx *sql.Tx) error {
		u, err := lockUser(ctx, s.DB, tx, userID)
		if err != nil {
			return err
		}
		e, err := s.endOtherSessions(ctx, tx, u, current, reasonRevoked, now, c)
		if err != nil {
			return err
		}
		next = e.next
		return s.publishEnded(ctx, tx, e, now)
	})
	return next, err
}

// ended is what endOtherSessions did.
type ended struct {
	next  Session   // the renewed current session
	user  User      // as saved
	ended []revoked // the other sessions and the old current one
}

// endOtherSessions is what a password change and "log out other devices" do to
// the sessions: every session of u ends with reason, a new one with current's
// absolute end takes over from current, and u is saved (with whatever else the caller changed) with its
// tokens_valid_after at now. The caller publishes the result with publishEnded
// once every other write of the transaction is done (see publishUser).
func (s *Service) endOtherSessions(ctx context.Context, tx *sql.Tx, u User, current, reason string, now time.Time, c Client) (ended, error) {
	cur, err := getSession(ctx, tx, current)
	if errors.Is(err, ErrNotFound) || (err == nil && (cur.UserID != u.ID || !cur.RevokedAt.IsZero())) {
		return ended{}, ErrSessionEnded
	}
	if err != nil {
		return ended{}, err
	}
	next := s.newSession(u.ID, c, now)
	next.ExpiresAt = cur.ExpiresAt
	if err := insertSession(ctx, tx, next); err != nil {
		return ended{}, err
	}
	// The current session ends like the others, without a pointer to its
	// replacement: the browser gets the new one's cookie in this very
	// response, and whoever else holds the old token (the reason for changing
	// a password, often) must not be led to it.
	all, err := revokeSessions(ctx, tx, now, reason, "", `user_id = $4 AND id <> $5`, u.ID, next.ID)
	if err != nil {
		return ended{}, err
	}
	u.TokensValidAfter = now.Truncate(time.Second)
	saved, err := saveUser(ctx, tx, u, now)
	if err != nil {
		return ended{}, err
	}
	return ended{next: next, user: saved, ended: all}, nil
}

func (s *Service) publishEnded(ctx context.Context, tx *sql.Tx, e ended, now time.Time) error {
	if err := s.publishUser(ctx, tx, e.user, contracts.UserChangeTokensValidAfter); err != nil {
		return err
	}
	return s.publishRevoked(ctx, tx, now, e.ended)
}

// Sweep deletes sessions that ended (revoked, or past their absolute end) more
// than keepEnded ago, and returns how many.
func (s *Service) Sweep(ctx context.Context) (int64, error) {
	cutoff := s.now().Add(-keepEnded).UnixMicro()
	res, err := s.DB.ExecContext(ctx, `DELETE FROM sessions WHERE revoked_at_us < $1 OR expires_at_us < $1`, cutoff)
	if err != nil {
		return 0, fmt.Errorf("accounts: sweep sessions: %w", err)
	}
	return res.RowsAffected()
}
