// Package migrations holds scs-users' own schema, one numbered, append-only set
// per dialect: sqlite/0001_*.sql, postgres/0001_*.sql, and so on. Apply migrates
// it together with the tables of the plumbing the system uses.
package migrations

import (
	"context"
	"embed"

	"github.com/scs-platform/shared-events/database/sqldb"
	"github.com/scs-platform/shared-events/eventing/consumer"
	"github.com/scs-platform/shared-events/eventing/outbox"
	"github.com/scs-platform/shared-events/httpkit/ratelimit"
)

// FS holds sqlite/NNNN_*.sql and postgres/NNNN_*.sql.
//
//go:embed sqlite postgres
var FS embed.FS

// Apply creates or upgrades scs-users' whole schema in db: the outbox, the
// inbox of its consumer, the rate limiter's buckets and its own tables, each
// versioned under its own component.
func Apply(ctx context.Context, db *sqldb.DB) error {
	return db.Apply(ctx, outbox.Migrate, consumer.Migrate, ratelimit.Migrate, sqldb.Schema("users", FS))
}
