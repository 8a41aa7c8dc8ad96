// Package migrations holds scs-cards' own schema, one numbered, append-only set
// per dialect: sqlite/0001_*.sql, postgres/0001_*.sql, and so on. Apply migrates
// it together with the tables of the plumbing the system uses.
package migrations

import (
	"context"
	"embed"

	"github.com/scs-platform/shared-events/consumer"
	"github.com/scs-platform/shared-events/outbox"
	"github.com/scs-platform/shared-events/sqldb"
	"github.com/scs-platform/shared-events/usersreplica"
)

// FS holds sqlite/NNNN_*.sql and postgres/NNNN_*.sql.
//
//go:embed sqlite postgres
var FS embed.FS

// Apply creates or upgrades scs-cards' whole schema in db: the outbox, the
// inbox of its consumer, the users replica and its own tables, each versioned
// under its own component.
func Apply(ctx context.Context, db *sqldb.DB) error {
	for _, migrate := range []func() error{
		func() error { return outbox.Migrate(ctx, db) },
		func() error { return consumer.Migrate(ctx, db) },
		func() error { return usersreplica.Migrate(ctx, db) },
		func() error { return db.Migrate(ctx, "cards", FS, ".") },
	} {
		if err := migrate(); err != nil {
			return err
		}
	}
	return nil
}
