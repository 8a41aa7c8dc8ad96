package ratelimit_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/scs-platform/shared-events/database/sqldb"
	"github.com/scs-platform/shared-events/testkit/servicetest"

	"github.com/scs-platform/shared-events/httpkit/ratelimit"
)

// clock is a Limiter.Now that only moves when told to.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// open migrates a fresh database of the backend and returns a Limiter on it
// whose clock starts at t0.
func open(t *testing.T, backend servicetest.Backend) (*sqldb.DB, *ratelimit.Limiter, *clock) {
	t.Helper()
	db := backend.Open(t)
	if err := ratelimit.Migrate(context.Background(), db); err != nil {
		t.Fatal(err)
	}
	c := &clock{now: t0}
	l := ratelimit.New(db)
	l.Now = c.Now
	return db, l, c
}

// reopen opens the database db points at once more: a restarted process on
// SQLite, another instance on PostgreSQL.
func reopen(t *testing.T, db *sqldb.DB) *sqldb.DB {
	t.Helper()
	// A SQLite DB's URL is its file's path; a PostgreSQL one's has the password
	// removed, which the DSN keeps.
	location := db.URL
	if db.Dialect == sqldb.Postgres {
		location = db.DSN()
	}
	other, err := sqldb.Open(context.Background(), location)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { other.Close() })
	return other
}

func take(t *testing.T, l *ratelimit.Limiter, limits ...ratelimit.Limit) ratelimit.Decision {
	t.Helper()
	d, err := l.Take(context.Background(), limits...)
	if err != nil {
		t.Fatalf("Take: %v", err)
	}
	return d
}

func refund(t *testing.T, l *ratelimit.Limiter, limits ...ratelimit.Limit) {
	t.Helper()
	if err := l.Refund(context.Background(), limits...); err != nil {
		t.Fatalf("Refund: %v", err)
	}
}

// wantDecision fails the test unless d is exactly want.
func wantDecision(t *testing.T, what string, d, want ratelimit.Decision) {
	t.Helper()
	if d != want {
		t.Fatalf("%s: %+v, want %+v", what, d, want)
	}
}

var allowed = ratelimit.Decision{Allowed: true}

// wantBucket fails the test unless the stored bucket of key has the level and
// the update time want, or is absent when want is nil.
func wantBucket(t *testing.T, db *sqldb.DB, key string, want *ratelimit.Bucket) {
	t.Helper()
	var level float64
	var us int64
	err := db.QueryRow(`SELECT level, updated_at_us FROM rate_buckets WHERE bucket = $1`, key).Scan(&level, &us)
	switch {
	case want == nil && errors.Is(err, sql.ErrNoRows):
	case want == nil && err == nil:
		t.Fatalf("bucket %q exists (level %v), want none", key, level)
	case err != nil:
		t.Fatalf("read bucket %q: %v", key, err)
	case level != want.Level || us != want.Updated.UnixMicro():
		t.Fatalf("bucket %q = level %v at %s, want level %v at %s", key, level, time.UnixMicro(us).UTC(), want.Level, want.Updated)
	}
}

func TestLimiter(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	perMinute := func(burst int) ratelimit.Rate { return ratelimit.Rate{Burst: burst, Every: time.Minute} }
	for _, backend := range servicetest.Backends() {
		t.Run(backend.Name, func(t *testing.T) {
			t.Run("take fills the bucket, refuses when full, and leaks on the Limiter's clock", func(t *testing.T) {
				db, l, c := open(t, backend)
				a := ratelimit.Limit{Key: "login-ip:192.0.2.7", Rate: perMinute(3)}
				for i := range 3 {
					wantDecision(t, fmt.Sprintf("take %d", i+1), take(t, l, a), allowed)
				}
				full := ratelimit.Decision{RetryAfter: time.Minute, Refused: a.Key}
				wantDecision(t, "take 4", take(t, l, a), full)
				wantBucket(t, db, a.Key, &ratelimit.Bucket{Level: 3, Updated: t0})

				c.Advance(30 * time.Second)
				wantDecision(t, "half a minute later", take(t, l, a), ratelimit.Decision{RetryAfter: 30 * time.Second, Refused: a.Key})
				c.Advance(30 * time.Second)
				wantDecision(t, "a minute later", take(t, l, a), allowed)
				wantBucket(t, db, a.Key, &ratelimit.Bucket{Level: 3, Updated: t0.Add(time.Minute)})
				wantDecision(t, "and full again", take(t, l, a), full)
			})

			t.Run("take is all or nothing", func(t *testing.T) {
				db, l, c := open(t, backend)
				a := ratelimit.Limit{Key: "login-account:alice@example.com", Rate: perMinute(1)}
				b := ratelimit.Limit{Key: "login-ip:192.0.2.7", Rate: perMinute(3)}
				wantDecision(t, "first", take(t, l, a, b), allowed)
				c.Advance(time.Second)
				wantDecision(t, "second", take(t, l, b, a), ratelimit.Decision{RetryAfter: 59 * time.Second, Refused: a.Key})
				wantBucket(t, db, a.Key, &ratelimit.Bucket{Level: 1, Updated: t0})
				wantBucket(t, db, b.Key, &ratelimit.Bucket{Level: 1, Updated: t0})

				// A bucket the refused Take would have created is not left behind.
				fresh := ratelimit.Limit{Key: "login-ip:198.51.100.1", Rate: perMinute(3)}
				take(t, l, fresh, a)
				wantBucket(t, db, fresh.Key, nil)

				// The wait is the longest of the full buckets'; Refused names the
				// first of them in the caller's order.
				slow := ratelimit.Limit{Key: "signup-ip:192.0.2.7", Rate: ratelimit.Rate{Burst: 1, Every: time.Hour}}
				take(t, l, slow)
				wantDecision(t, "a then slow", take(t, l, a, slow, b), ratelimit.Decision{RetryAfter: time.Hour, Refused: a.Key})
				wantDecision(t, "slow then a", take(t, l, b, slow, a), ratelimit.Decision{RetryAfter: time.Hour, Refused: slow.Key})
				wantBucket(t, db, b.Key, &ratelimit.Bucket{Level: 1, Updated: t0})
			})

			t.Run("take checks its limits", func(t *testing.T) {
				db, l, _ := open(t, backend)
				a := ratelimit.Limit{Key: "a", Rate: perMinute(2)}
				wantDecision(t, "a key given twice", take(t, l, a, a), allowed)
				wantBucket(t, db, "a", &ratelimit.Bucket{Level: 1, Updated: t0})
				wantDecision(t, "no limits", take(t, l), allowed)
				for _, tc := range []struct {
					name   string
					limits []ratelimit.Limit
					want   string
				}{
					{"a key with two rates", []ratelimit.Limit{a, {Key: "a", Rate: perMinute(3)}}, "different rates"},
					{"an empty key", []ratelimit.Limit{a, {Rate: perMinute(3)}}, "limit 1 has no key"},
					{"no burst", []ratelimit.Limit{{Key: "b", Rate: ratelimit.Rate{Every: time.Minute}}}, "burst of at least 1"},
					{"no interval", []ratelimit.Limit{{Key: "b", Rate: ratelimit.Rate{Burst: 1}}}, "positive interval"},
				} {
					t.Run(tc.name, func(t *testing.T) {
						if d, err := l.Take(ctx, tc.limits...); err == nil || !strings.Contains(err.Error(), tc.want) {
							t.Errorf("Take = %+v, %v; want an error saying %q", d, err, tc.want)
						}
						if err := l.Refund(ctx, tc.limits...); err == nil || !strings.Contains(err.Error(), tc.want) {
							t.Errorf("Refund = %v; want an error saying %q", err, tc.want)
						}
					})
				}
				wantBucket(t, db, "a", &ratelimit.Bucket{Level: 1, Updated: t0})
				wantBucket(t, db, "b", nil)
			})

			t.Run("refund", func(t *testing.T) {
				db, l, c := open(t, backend)
				a := ratelimit.Limit{Key: "login-account:alice@example.com", Rate: perMinute(2)}
				b := ratelimit.Limit{Key: "login-ip:192.0.2.7", Rate: perMinute(2)}
				take(t, l, a, b)
				take(t, l, a, b)
				wantDecision(t, "full", take(t, l, a, b), ratelimit.Decision{RetryAfter: time.Minute, Refused: a.Key})
				refund(t, l, a)
				wantDecision(t, "after a refund of a", take(t, l, a), allowed)
				wantDecision(t, "b was not refunded", take(t, l, b), ratelimit.Decision{RetryAfter: time.Minute, Refused: b.Key})

				// The refund comes out of the level leaked until now.
				c.Advance(30 * time.Second)
				refund(t, l, a, b)
				wantBucket(t, db, a.Key, &ratelimit.Bucket{Level: 0.5, Updated: t0.Add(30 * time.Second)})
				wantBucket(t, db, b.Key, &ratelimit.Bucket{Level: 0.5, Updated: t0.Add(30 * time.Second)})
				// Never below zero: a refund is no credit for later.
				refund(t, l, a)
				wantBucket(t, db, a.Key, &ratelimit.Bucket{Level: 0, Updated: t0.Add(30 * time.Second)})
				refund(t, l, a)
				wantBucket(t, db, a.Key, &ratelimit.Bucket{Level: 0, Updated: t0.Add(30 * time.Second)})

				refund(t, l, ratelimit.Limit{Key: "never-taken", Rate: perMinute(2)})
				wantBucket(t, db, "never-taken", nil)
			})

			t.Run("buckets survive a restart and are shared by instances", func(t *testing.T) {
				db, l, c := open(t, backend)
				a := ratelimit.Limit{Key: "login-ip:192.0.2.7", Rate: perMinute(5)}
				for range 3 {
					take(t, l, a)
				}
				if err := db.Close(); err != nil {
					t.Fatal(err)
				}
				other := reopen(t, db)
				l2 := ratelimit.New(other)
				l2.Now = c.Now
				wantDecision(t, "fourth", take(t, l2, a), allowed)
				wantDecision(t, "fifth", take(t, l2, a), allowed)
				wantDecision(t, "sixth", take(t, l2, a), ratelimit.Decision{RetryAfter: time.Minute, Refused: a.Key})
			})

			t.Run("sweep deletes the buckets not updated for a while", func(t *testing.T) {
				db, l, c := open(t, backend)
				old := ratelimit.Limit{Key: "old", Rate: perMinute(5)}
				recent := ratelimit.Limit{Key: "recent", Rate: perMinute(5)}
				take(t, l, old)
				c.Advance(5 * time.Minute)
				take(t, l, recent)
				take(t, l, recent)
				c.Advance(5*time.Minute + time.Microsecond)
				n, err := l.Sweep(ctx, 10*time.Minute)
				if err != nil || n != 1 {
					t.Fatalf("Sweep(10m) = %d, %v; want 1 removed", n, err)
				}
				wantBucket(t, db, old.Key, nil)
				wantBucket(t, db, recent.Key, &ratelimit.Bucket{Level: 2, Updated: t0.Add(5 * time.Minute)})
				// Updated exactly olderThan ago is not yet older.
				c.Advance(-time.Microsecond)
				if n, err := l.Sweep(ctx, 5*time.Minute); err != nil || n != 0 {
					t.Fatalf("Sweep(5m) = %d, %v; want none removed", n, err)
				}
				if n, err := l.Sweep(ctx, 0); err == nil {
					t.Fatalf("Sweep(0) = %d, nil; want an error", n)
				}
				wantBucket(t, db, recent.Key, &ratelimit.Bucket{Level: 2, Updated: t0.Add(5 * time.Minute)})
			})

			t.Run("concurrent takes let exactly the burst through", func(t *testing.T) {
				db, l, c := open(t, backend)
				// Two pools stand for two instances of scs-users; on SQLite, for two
				// processes on one file.
				l2 := ratelimit.New(reopen(t, db))
				l2.Now = c.Now
				limiters := []*ratelimit.Limiter{l, l2}
				a := ratelimit.Limit{Key: "a", Rate: perMinute(10)}
				b := ratelimit.Limit{Key: "b", Rate: perMinute(10)}
				for _, tc := range []struct {
					name string
					// limits of the i-th goroutine; both orders on PostgreSQL would
					// deadlock unless Take locks in one order.
					limits func(i int) []ratelimit.Limit
					keys   []string
				}{
					{"one key", func(int) []ratelimit.Limit { return []ratelimit.Limit{a} }, []string{"a"}},
					{"two keys in both orders", func(i int) []ratelimit.Limit {
						if i%2 == 0 {
							return []ratelimit.Limit{b, {Key: "c", Rate: perMinute(10)}}
						}
						return []ratelimit.Limit{{Key: "c", Rate: perMinute(10)}, b}
					}, []string{"b", "c"}},
				} {
					t.Run(tc.name, func(t *testing.T) {
						const goroutines = 50
						start := make(chan struct{})
						decisions := make(chan ratelimit.Decision, goroutines)
						errs := make(chan error, goroutines)
						var wg sync.WaitGroup
						for i := range goroutines {
							wg.Go(func() {
								<-start
								d, err := limiters[i%2].Take(ctx, tc.limits(i)...)
								if err != nil {
									errs <- err
									return
								}
								decisions <- d
							})
						}
						close(start)
						wg.Wait()
						close(errs)
						close(decisions)
						for err := range errs {
							t.Errorf("Take: %v", err)
						}
						allowedN := 0
						for d := range decisions {
							switch {
							case d.Allowed:
								allowedN++
							case d.RetryAfter != time.Minute:
								t.Errorf("refused with %+v, want a wait of a minute", d)
							}
						}
						if allowedN != 10 {
							t.Errorf("%d of %d concurrent takes allowed, want exactly 10", allowedN, goroutines)
						}
						for _, k := range tc.keys {
							wantBucket(t, db, k, &ratelimit.Bucket{Level: 10, Updated: t0})
						}
					})
				}
			})
		})
	}
}

func TestMigrateIsIdempotent(t *testing.T) {
	t.Parallel()
	for _, backend := range servicetest.Backends() {
		t.Run(backend.Name, func(t *testing.T) {
			db := backend.Open(t)
			for i := range 2 {
				if err := ratelimit.Migrate(context.Background(), db); err != nil {
					t.Fatalf("Migrate #%d: %v", i+1, err)
				}
			}
			var n int
			if err := db.QueryRow(`SELECT count(*) FROM schema_migrations WHERE component = 'ratelimit'`).Scan(&n); err != nil || n != 1 {
				t.Fatalf("ratelimit migrations recorded: %d, %v; want 1", n, err)
			}
		})
	}
}
