// Package accountstest builds an accounts.Service on a real database for the
// tests of the packages that use one, the way the program builds it, but with
// password hashing cheap enough to sign up a user per test case.
package accountstest

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/scs-platform/shared-events/database/sqldb"
	"github.com/scs-platform/shared-events/eventing/eventsig"
	"github.com/scs-platform/shared-events/eventing/outbox"
	"github.com/scs-platform/shared-events/httpkit/ratelimit"

	"github.com/scs-platform/scs-users/internal/accounts"
	"github.com/scs-platform/scs-users/internal/migrations"
	"github.com/scs-platform/scs-users/internal/password"
)

// Fast are argon2id parameters far below OWASP's, so that tests run quickly;
// the password package tests the real ones.
var Fast = password.Params{MemoryKiB: 64, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 32}

// Password is a password the policy accepts.
const Password = "correct horse battery staple"

// NewService migrates db and returns a Service on it with the default limits
// and session policy, hashing with Fast and logging to the test's output.
// A test changes the fields it needs.
func NewService(t testing.TB, db *sqldb.DB) *accounts.Service {
	t.Helper()
	if err := migrations.Apply(context.Background(), db); err != nil {
		t.Fatal(err)
	}
	return &accounts.Service{
		DB:      db,
		Outbox:  outbox.New(db, eventsig.DevelopmentSigner("users")),
		Hasher:  password.NewHasher(Fast, 4),
		Limiter: ratelimit.New(db),
		Limits: accounts.Limits{
			LoginPerAccount: ratelimit.Rate{Burst: 5, Every: time.Minute},
			LoginPerIP:      ratelimit.Rate{Burst: 20, Every: 15 * time.Second},
			SignUpPerIP:     ratelimit.Rate{Burst: 5, Every: 10 * time.Minute},
		},
		Policy: accounts.SessionPolicy{Idle: time.Hour, MaxAge: 12 * time.Hour},
		Logger: slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn})),
	}
}
