package chat

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/google/uuid"

	"github.com/scs-platform/scs-chat/internal/matching"
)

// matchmakingLock is the lock (sqldb.DB.LockTx) that makes the instances
// take turns at the waiting room ("chat" in ASCII).
const matchmakingLock = 0x63686174

// keepLog is how many waiting_log rows Sweep keeps. An instance further behind
// than that reloads the whole room, which is also what a fresh one does.
const keepLog = 10_000

// Joined is the outcome of a join: either a conversation or a place in the
// waiting room.
type Joined struct {
	// ConversationID is set when the join made a match, or when the user was in
	// a conversation already (then Already is true).
	ConversationID string
	Already        bool
}

// Status is where a user stands.
type Status struct {
	// ConversationID is the user's active conversation, if any.
	ConversationID string
	// Waiting is true while the user is in the waiting room, since WaitingSince.
	Waiting      bool
	WaitingSince time.Time
	RangeKm      float64
}

// ValidateJoin checks a join's location and range and says what is wrong in
// plain words, naming the form field.
func ValidateJoin(at matching.Point, rangeKm float64) error {
	switch {
	case math.IsNaN(at.Lat) || at.Lat < -90 || at.Lat > 90:
		return &UserError{Field: "lat", Message: "Latitude must be a number from -90 to 90."}
	case math.IsNaN(at.Lon) || at.Lon < -180 || at.Lon > 180:
		return &UserError{Field: "lon", Message: "Longitude must be a number from -180 to 180."}
	case math.IsNaN(rangeKm) || rangeKm < MinRangeKm || rangeKm > MaxRangeKm:
		return &UserError{Field: "range", Message: fmt.Sprintf("The range must be from %g to %g km.", MinRangeKm, float64(MaxRangeKm))}
	}
	return nil
}

// Join puts userID in the waiting room at at, willing to meet anyone within
// rangeKm whose own range covers the distance too, and matches them at once
// with the nearest such partner if there is one (ties go to whoever waited
// longest). A user who is waiting already moves (and keeps their place in the
// queue); one in a conversation gets it back with Already set.
func (s *Service) Join(ctx context.Context, userID string, at matching.Point, rangeKm float64) (Joined, error) {
	if err := ValidateJoin(at, rangeKm); err != nil {
		return Joined{}, err
	}
	var out Joined
	var partner string
	var apply func(*matching.Index)
	err := s.underLock(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `SELECT conversation_id FROM active_members WHERE user_id = $1`, userID).Scan(&out.ConversationID)
		if err == nil {
			out.Already = true
			return nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		blocked, err := s.blockedEitherWay(ctx, tx, userID)
		if err != nil {
			return err
		}
		now := s.now()
		seq, err := logChange(ctx, tx, userID)
		if err != nil {
			return err
		}
		me := matching.Entry{UserID: userID, At: at, RangeKm: rangeKm, Since: seq}
		if prev, ok := s.index.Get(userID); ok {
			me.Since = prev.Since
		}
		best, distance, ok := s.index.Best(me, func(id string) bool { return !blocked[id] })
		if !ok {
			if _, err := tx.ExecContext(ctx, `INSERT INTO waiting (user_id, lat, lon, range_km, since, joined_at_us, seen_at_us)
				VALUES ($1, $2, $3, $4, $5, $6, $6)
				ON CONFLICT (user_id) DO UPDATE SET lat = excluded.lat, lon = excluded.lon, range_km = excluded.range_km, seen_at_us = excluded.seen_at_us`,
				userID, at.Lat, at.Lon, rangeKm, me.Since, now.UnixMicro()); err != nil {
				return err
			}
			apply = func(ix *matching.Index) { ix.Add(me) }
			return nil
		}
		partner = best.UserID
		out.ConversationID, err = s.start(ctx, tx, best.UserID, userID, distance, now)
		if err != nil {
			return err
		}
		if _, err := logChange(ctx, tx, partner); err != nil {
			return err
		}
		apply = func(ix *matching.Index) { ix.Remove(partner); ix.Remove(userID) }
		return nil
	}, &apply)
	if err != nil {
		return Joined{}, err
	}
	if partner != "" {
		s.counters.matches.Add(1)
		s.Notify.Matched(ctx, partner, out.ConversationID)
		s.Notify.Matched(ctx, userID, out.ConversationID)
	}
	return out, nil
}

// start makes the conversation of a (who waited) and b (who joined) and takes
// both out of the waiting room: their locations are forgotten here.
func (s *Service) start(ctx context.Context, tx *sql.Tx, a, b string, distance float64, now time.Time) (string, error) {
	id := uuid.Must(uuid.NewV7()).String()
	if _, err := tx.ExecContext(ctx, `DELETE FROM waiting WHERE user_id IN ($1, $2)`, a, b); err != nil {
		return "", err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO conversations (id, user_a, user_b, distance_km, started_at_us) VALUES ($1, $2, $3, $4, $5)`,
		id, a, b, distance, now.UnixMicro()); err != nil {
		return "", err
	}
	// The primary key of active_members is the backstop: were the index ever
	// wrong, a second match of either user would fail here, not happen.
	if _, err := tx.ExecContext(ctx, `INSERT INTO active_members (user_id, conversation_id) VALUES ($1, $3), ($2, $3)`, a, b, id); err != nil {
		return "", fmt.Errorf("chat: a member is in a conversation already: %w", err)
	}
	return id, nil
}

// StopWaiting takes userID out of the waiting room. It returns ErrNotWaiting if
// the user was not waiting (a second click, or matched meanwhile).
func (s *Service) StopWaiting(ctx context.Context, userID string) error {
	var apply func(*matching.Index)
	err := s.underLock(ctx, func(tx *sql.Tx) error {
		left, err := leaveRoom(ctx, tx, []string{userID})
		if err != nil {
			return err
		}
		if len(left) == 0 {
			return ErrNotWaiting
		}
		apply = func(ix *matching.Index) { ix.Remove(userID) }
		return nil
	}, &apply)
	return err
}

// Seen records a sign of life of a waiting user: a view of the waiting page or
// an open websocket's heartbeat. It reports whether the user is still waiting.
func (s *Service) Seen(ctx context.Context, userID string) (bool, error) {
	res, err := s.DB.ExecContext(ctx, `UPDATE waiting SET seen_at_us = $1 WHERE user_id = $2`, s.now().UnixMicro(), userID)
	if err != nil {
		return false, fmt.Errorf("chat: seen: %w", err)
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

// Sweep ends the waiting entries that showed no sign of life for Grace or have
// waited MaxWait, and trims the waiting log. Every instance runs it now and
// then; it returns how many entries ended.
func (s *Service) Sweep(ctx context.Context) (int, error) {
	var apply func(*matching.Index)
	var n int
	err := s.underLock(ctx, func(tx *sql.Tx) error {
		now := s.now()
		rows, err := tx.QueryContext(ctx, `SELECT user_id FROM waiting WHERE seen_at_us < $1 OR joined_at_us < $2`,
			now.Add(-s.Grace).UnixMicro(), now.Add(-s.MaxWait).UnixMicro())
		if err != nil {
			return err
		}
		var stale []string
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return err
			}
			stale = append(stale, id)
		}
		if err := errors.Join(rows.Err(), rows.Close()); err != nil {
			return err
		}
		left, err := leaveRoom(ctx, tx, stale)
		if err != nil {
			return err
		}
		n = len(left)
		if _, err := tx.ExecContext(ctx, `DELETE FROM waiting_log WHERE seq <= (SELECT max(seq) FROM waiting_log) - $1`, keepLog); err != nil {
			return err
		}
		if err := s.trimAccessChanges(ctx, tx); err != nil {
			return err
		}
		apply = func(ix *matching.Index) {
			for _, id := range left {
				ix.Remove(id)
			}
		}
		return nil
	}, &apply)
	return n, err
}

// Status says whether userID is in a conversation, waiting, or neither.
func (s *Service) Status(ctx context.Context, userID string) (Status, error) {
	var st Status
	err := s.DB.QueryRowContext(ctx, `SELECT conversation_id FROM active_members WHERE user_id = $1`, userID).Scan(&st.ConversationID)
	if err == nil {
		return st, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return Status{}, fmt.Errorf("chat: status: %w", err)
	}
	var joined int64
	err = s.DB.QueryRowContext(ctx, `SELECT joined_at_us, range_km FROM waiting WHERE user_id = $1`, userID).Scan(&joined, &st.RangeKm)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return st, nil
	case err != nil:
		return Status{}, fmt.Errorf("chat: status: %w", err)
	}
	st.Waiting, st.WaitingSince = true, fromMicros(joined)
	return st, nil
}

// WaitingCount is the number of users waiting, for the metrics.
func (s *Service) WaitingCount(ctx context.Context) (int, error) {
	var n int
	err := s.DB.QueryRowContext(ctx, `SELECT count(*) FROM waiting`).Scan(&n)
	return n, err
}

// underLock runs fn in a transaction holding the matchmaking lock, with the
// index caught up with the database. After a commit it applies *apply (the
// transaction's own changes) to the index; after a failure it drops the index,
// which the next caller reloads, since it may now be ahead of the database.
func (s *Service) underLock(ctx context.Context, fn func(tx *sql.Tx) error, apply *func(*matching.Index)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	err := s.DB.InTx(ctx, func(tx *sql.Tx) error {
		if err := s.lockRoom(ctx, tx); err != nil {
			return err
		}
		if err := s.catchUp(ctx, tx); err != nil {
			return err
		}
		if err := fn(tx); err != nil {
			return err
		}
		// Everything this transaction logged is ours: nobody else holds the lock.
		return tx.QueryRowContext(ctx, `SELECT COALESCE(max(seq), 0) FROM waiting_log`).Scan(&s.seen)
	})
	if err != nil {
		s.index = nil
		if forTheUser(err) {
			return err
		}
		return fmt.Errorf("chat: waiting room: %w", err)
	}
	if *apply != nil {
		(*apply)(s.index)
	}
	return nil
}

// lockRoom takes the matchmaking lock for tx. Every change to the waiting
// room takes it, so that its log's seqs commit in order.
func (s *Service) lockRoom(ctx context.Context, tx *sql.Tx) error {
	return s.DB.LockTx(ctx, tx, matchmakingLock)
}

// forTheUser reports whether err is one of chat's answers to the user (a
// sentinel or a *UserError), which callers pass on as it is rather than wrap.
func forTheUser(err error) bool {
	if _, ok := errors.AsType[*UserError](err); ok {
		return true
	}
	return errors.Is(err, ErrNotWaiting) || errors.Is(err, ErrNotFound) || errors.Is(err, ErrEnded)
}

// catchUp brings the index up to the database: the rows of waiting_log since
// s.seen name the users whose entries changed, and their waiting rows say what
// they are now. A fresh instance, or one whose log was trimmed past, loads the
// whole room.
func (s *Service) catchUp(ctx context.Context, tx *sql.Tx) error {
	if s.index != nil {
		var first int64
		if err := tx.QueryRowContext(ctx, `SELECT COALESCE(min(seq), 0) FROM waiting_log`).Scan(&first); err != nil {
			return err
		}
		if first <= s.seen+1 {
			return s.readChanges(ctx, tx)
		}
	}
	ix := matching.NewIndex()
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(max(seq), 0) FROM waiting_log`).Scan(&s.seen); err != nil {
		return err
	}
	rows, err := tx.QueryContext(ctx, `SELECT user_id, lat, lon, range_km, since FROM waiting`)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var e matching.Entry
		if err := rows.Scan(&e.UserID, &e.At.Lat, &e.At.Lon, &e.RangeKm, &e.Since); err != nil {
			return err
		}
		ix.Add(e)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	s.index = ix
	return nil
}

func (s *Service) readChanges(ctx context.Context, tx *sql.Tx) error {
	rows, err := tx.QueryContext(ctx, `SELECT l.seq, l.user_id, w.lat, w.lon, w.range_km, w.since
		FROM waiting_log l LEFT JOIN waiting w ON w.user_id = l.user_id
		WHERE l.seq > $1 ORDER BY l.seq`, s.seen)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var seq int64
		var id string
		var lat, lon, rng sql.NullFloat64
		var since sql.NullInt64
		if err := rows.Scan(&seq, &id, &lat, &lon, &rng, &since); err != nil {
			return err
		}
		if since.Valid {
			s.index.Add(matching.Entry{UserID: id, At: matching.Point{Lat: lat.Float64, Lon: lon.Float64}, RangeKm: rng.Float64, Since: since.Int64})
		} else {
			s.index.Remove(id)
		}
		s.seen = seq
	}
	return rows.Err()
}

// logChange records that userID's waiting entry changed and returns the seq.
func logChange(ctx context.Context, tx *sql.Tx, userID string) (int64, error) {
	var seq int64
	err := tx.QueryRowContext(ctx, `INSERT INTO waiting_log (user_id) VALUES ($1) RETURNING seq`, userID).Scan(&seq)
	return seq, err
}

// leaveRoom deletes the waiting entries of users and logs each one that was
// there; it returns those. The caller holds the matchmaking lock.
func leaveRoom(ctx context.Context, tx *sql.Tx, users []string) ([]string, error) {
	var left []string
	for _, id := range users {
		res, err := tx.ExecContext(ctx, `DELETE FROM waiting WHERE user_id = $1`, id)
		if err != nil {
			return nil, err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			continue
		}
		if _, err := logChange(ctx, tx, id); err != nil {
			return nil, err
		}
		left = append(left, id)
	}
	return left, nil
}

// blockedEitherWay is the set of users userID blocked or was blocked by.
func (s *Service) blockedEitherWay(ctx context.Context, tx *sql.Tx, userID string) (map[string]bool, error) {
	rows, err := tx.QueryContext(ctx, `SELECT blocked_id FROM blocks WHERE blocker_id = $1
		UNION SELECT blocker_id FROM blocks WHERE blocked_id = $1`, userID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	set := map[string]bool{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		set[id] = true
	}
	return set, rows.Err()
}
