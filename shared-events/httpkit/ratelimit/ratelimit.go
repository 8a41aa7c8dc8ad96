// Package ratelimit limits how often a key (an account, a client address, a
// user sending chat messages) may do something, with leaky buckets in the
// "meter" form of the algorithm: every key has a bucket whose level leaks at a
// constant rate; a request adds one unit if the bucket has room and is refused
// otherwise, and a refused request adds nothing.
//
// A Limiter keeps its buckets in the system's own database (scs-users' login
// and sign-up limits), so that a restart does not hand an attacker a fresh
// allowance and every instance on PostgreSQL counts against the same buckets. Time comes from each instance's clock: an instance whose
// clock runs ahead stamps buckets in the others' future, which they leak only
// once their clocks catch up, so skew makes the limits stricter, never looser.
package ratelimit

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/scs-platform/shared-events/database/sqldb"
)

//go:embed migrations
var migrations embed.FS

// Migrate creates or upgrades the rate_buckets table in db, versioned under the
// component name "ratelimit", apart from the system's own schema.
func Migrate(ctx context.Context, db *sqldb.DB) error {
	return db.Migrate(ctx, "ratelimit", migrations, "migrations")
}

// Limit is one bucket a request must pass: a key such as
// "login-account:alice@example.com" and its rate.
type Limit struct {
	Key  string
	Rate Rate
}

// Decision is the answer to Take.
type Decision struct {
	// Allowed says whether the request passed every bucket.
	Allowed bool
	// RetryAfter is, when refused, how long until every bucket has room again.
	RetryAfter time.Duration
	// Refused is the key of the first bucket, in the order given to Take, that
	// refused the request, for logs.
	Refused string
}

// RetryAfterSeconds is the value of a Retry-After header: RetryAfter in whole
// seconds, rounded up, and at least 1 when refused (a client told 0 would retry at
// once). It is 0 when the request was allowed.
func (d Decision) RetryAfterSeconds() int {
	if d.Allowed {
		return 0
	}
	s := d.RetryAfter / time.Second
	if d.RetryAfter%time.Second > 0 {
		s++
	}
	return int(max(s, 1))
}

// Limiter keeps buckets in a database migrated by Migrate. It is safe for
// concurrent use, and several Limiters (several instances) may share one
// PostgreSQL database.
type Limiter struct {
	db *sqldb.DB
	// selectBucket reads a bucket and, on PostgreSQL, locks its row until the
	// transaction ends.
	selectBucket string

	// Now is the clock, time.Now unless a test replaces it before first use.
	Now func() time.Time
}

// New returns a Limiter that keeps its buckets in db.
func New(db *sqldb.DB) *Limiter {
	// Without the row lock two transactions would read the same level and
	// both add to it.
	q := `SELECT level, updated_at_us FROM rate_buckets WHERE bucket = $1` + db.ForUpdate()
	return &Limiter{db: db, selectBucket: q, Now: time.Now}
}

// errRefused makes InTx roll back a refused Take, so that it changes nothing,
// not even by creating the empty buckets it locked.
var errRefused = errors.New("refused")

// Take adds one unit to every bucket in limits, all or nothing, in one
// transaction. If any bucket is full, none changes and the decision says how long
// until all have room (the longest wait). A key given twice with the same rate
// counts once; with different rates it is an error, as is an empty key or a rate
// without a burst or an interval. Take without limits allows.
func (l *Limiter) Take(ctx context.Context, limits ...Limit) (Decision, error) {
	set, err := prepare(limits)
	if err != nil {
		return Decision{}, fmt.Errorf("ratelimit: take: %w", err)
	}
	if len(set) == 0 {
		return Decision{Allowed: true}, nil
	}
	now := l.now()
	var d Decision
	err = l.db.InTx(ctx, func(tx *sql.Tx) error {
		d = Decision{Allowed: true}
		refused := len(limits)
		next := make([]Bucket, len(set))
		for i, lim := range set {
			b, err := l.lock(ctx, tx, lim.Key, now, true)
			if err != nil {
				return err
			}
			n, ok, wait := lim.Rate.Add(b, now)
			next[i] = n
			if !ok {
				d.Allowed = false
				d.RetryAfter = max(d.RetryAfter, wait)
				if lim.order < refused {
					refused, d.Refused = lim.order, lim.Key
				}
			}
		}
		if !d.Allowed {
			return errRefused
		}
		for i, lim := range set {
			if err := store(ctx, tx, lim.Key, next[i]); err != nil {
				return err
			}
		}
		return nil
	})
	// A failed rollback after a refusal changes nothing either: the decision stands.
	if errors.Is(err, errRefused) {
		return d, nil
	}
	if err != nil {
		return Decision{}, fmt.Errorf("ratelimit: take: %w", err)
	}
	return d, nil
}

// Refund takes one unit back out of every bucket in limits, never below zero,
// for example after a successful login so that a user's own logins don't count
// against them. A bucket that does not exist is empty and stays absent. Limits
// are checked as by Take.
func (l *Limiter) Refund(ctx context.Context, limits ...Limit) error {
	set, err := prepare(limits)
	if err != nil {
		return fmt.Errorf("ratelimit: refund: %w", err)
	}
	if len(set) == 0 {
		return nil
	}
	now := l.now()
	err = l.db.InTx(ctx, func(tx *sql.Tx) error {
		for _, lim := range set {
			b, err := l.lock(ctx, tx, lim.Key, now, false)
			if errors.Is(err, sql.ErrNoRows) {
				continue
			}
			if err != nil {
				return err
			}
			b = lim.Rate.Leak(b, now)
			b.Level = max(b.Level-1, 0)
			if err := store(ctx, tx, lim.Key, b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("ratelimit: refund: %w", err)
	}
	return nil
}

// Sweep deletes the buckets not updated for olderThan and returns how many it
// removed, to keep the table small. The table does not know the rates, so the
// caller passes the longest Burst*Every in use: a bucket untouched that long has
// leaked empty, and deleting it changes no decision. olderThan must be positive.
func (l *Limiter) Sweep(ctx context.Context, olderThan time.Duration) (int64, error) {
	if olderThan <= 0 {
		return 0, fmt.Errorf("ratelimit: sweep: olderThan is %s, want a positive duration", olderThan)
	}
	cutoff := l.now().Add(-olderThan).UnixMicro()
	// On PostgreSQL a bucket that a Take holds locked makes the DELETE wait, and
	// the DELETE then checks the committed row again, which is no longer old.
	res, err := l.db.ExecContext(ctx, `DELETE FROM rate_buckets WHERE updated_at_us < $1`, cutoff)
	if err != nil {
		return 0, fmt.Errorf("ratelimit: sweep: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("ratelimit: sweep: %w", err)
	}
	return n, nil
}

// now is the Limiter's clock cut to the microsecond the table stores, so that the
// arithmetic is done on exactly the instants the next transaction reads back.
func (l *Limiter) now() time.Time {
	now := time.Now
	if l.Now != nil {
		now = l.Now
	}
	return time.UnixMicro(now().UnixMicro())
}

// lock reads the bucket of key and, on PostgreSQL, locks its row until tx ends.
// With create, a missing bucket is first inserted empty, so that there is a row
// to lock: two transactions creating the same bucket then meet on its primary
// key, and the second waits for the first. Without create a missing bucket is
// sql.ErrNoRows.
func (l *Limiter) lock(ctx context.Context, tx *sql.Tx, key string, now time.Time, create bool) (Bucket, error) {
	// A Sweep may delete an old bucket between the INSERT, which finds it, and
	// the SELECT, which then does not; trying again inserts it afresh.
	for range 3 {
		if create {
			if _, err := tx.ExecContext(ctx, `INSERT INTO rate_buckets (bucket, level, updated_at_us) VALUES ($1, 0, $2)
				ON CONFLICT (bucket) DO NOTHING`, key, now.UnixMicro()); err != nil {
				return Bucket{}, fmt.Errorf("create bucket %q: %w", key, err)
			}
		}
		var level float64
		var us int64
		err := tx.QueryRowContext(ctx, l.selectBucket, key).Scan(&level, &us)
		if errors.Is(err, sql.ErrNoRows) && create {
			continue
		}
		if errors.Is(err, sql.ErrNoRows) {
			return Bucket{}, err
		}
		if err != nil {
			return Bucket{}, fmt.Errorf("read bucket %q: %w", key, err)
		}
		return Bucket{Level: level, Updated: time.UnixMicro(us)}, nil
	}
	return Bucket{}, fmt.Errorf("bucket %q was deleted three times while being created", key)
}

func store(ctx context.Context, tx *sql.Tx, key string, b Bucket) error {
	if _, err := tx.ExecContext(ctx, `UPDATE rate_buckets SET level = $2, updated_at_us = $3 WHERE bucket = $1`,
		key, b.Level, b.Updated.UnixMicro()); err != nil {
		return fmt.Errorf("update bucket %q: %w", key, err)
	}
	return nil
}

// entry is a Limit with its place in the caller's list.
type entry struct {
	Limit
	order int
}

// prepare checks limits, merges repeated keys and sorts them. The order matters
// on PostgreSQL: two transactions that lock the same rows in the same order wait
// for each other instead of deadlocking.
func prepare(limits []Limit) ([]entry, error) {
	set := make([]entry, 0, len(limits))
	seen := make(map[string]int, len(limits))
	for i, lim := range limits {
		if lim.Key == "" {
			return nil, fmt.Errorf("limit %d has no key", i)
		}
		if err := lim.Rate.valid(); err != nil {
			return nil, fmt.Errorf("limit %q: %w", lim.Key, err)
		}
		if j, dup := seen[lim.Key]; dup {
			if set[j].Rate != lim.Rate {
				return nil, fmt.Errorf("key %q is given twice with different rates, %s and %s", lim.Key, set[j].Rate, lim.Rate)
			}
			continue
		}
		seen[lim.Key] = len(set)
		set = append(set, entry{Limit: lim, order: i})
	}
	slices.SortFunc(set, func(a, b entry) int { return strings.Compare(a.Key, b.Key) })
	return set, nil
}
