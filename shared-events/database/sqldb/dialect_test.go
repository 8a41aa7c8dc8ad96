package sqldb_test

import (
	"context"
	"database/sql"
	"errors"
	"testing"

	"github.com/scs-platform/shared-events/database/sqldb"
	"github.com/scs-platform/shared-events/testkit/servicetest"
)

// TestLockClausesRunOnEitherEngine locks a joined row, and takes a batch
// that skips locked rows, with the clauses each engine is given.
func TestLockClausesRunOnEitherEngine(t *testing.T) {
	for _, b := range servicetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			db := b.Open(t)
			ctx := context.Background()
			if _, err := db.Exec(`CREATE TABLE owners (id INTEGER PRIMARY KEY, name TEXT NOT NULL)`); err != nil {
				t.Fatal(err)
			}
			if _, err := db.Exec(`CREATE TABLE items (id INTEGER PRIMARY KEY, owner_id INTEGER)`); err != nil {
				t.Fatal(err)
			}
			if _, err := db.Exec(`INSERT INTO items (id, owner_id) VALUES (1, NULL), (2, NULL)`); err != nil {
				t.Fatal(err)
			}
			err := db.InTx(ctx, func(tx *sql.Tx) error {
				var id int
				if err := tx.QueryRowContext(ctx, `SELECT i.id FROM items i LEFT JOIN owners o ON o.id = i.owner_id WHERE i.id = 1`+db.ForUpdateOf("i")).Scan(&id); err != nil {
					return err
				}
				rows, err := tx.QueryContext(ctx, `SELECT id FROM items ORDER BY id`+db.ForUpdateSkipLocked())
				if err != nil {
					return err
				}
				return rows.Close()
			})
			if err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestReadSnapshotAndUniqueViolation reads through ReadSnapshot, and tells a
// duplicate key from other errors on either engine.
func TestReadSnapshotAndUniqueViolation(t *testing.T) {
	for _, b := range servicetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			db := b.Open(t)
			ctx := context.Background()
			if _, err := db.Exec(`CREATE TABLE keys (k TEXT PRIMARY KEY)`); err != nil {
				t.Fatal(err)
			}
			if _, err := db.Exec(`INSERT INTO keys (k) VALUES ('a')`); err != nil {
				t.Fatal(err)
			}
			_, err := db.Exec(`INSERT INTO keys (k) VALUES ('a')`)
			if !sqldb.IsUniqueViolation(err) {
				t.Errorf("a duplicate key: %v, want a unique violation", err)
			}
			if _, err := db.Exec(`INSERT INTO no_such_table (k) VALUES ('a')`); err == nil || sqldb.IsUniqueViolation(err) {
				t.Errorf("a missing table: %v, want an error that is not a unique violation", err)
			}
			if sqldb.IsUniqueViolation(errors.New("unique")) {
				t.Error("a plain error is a unique violation")
			}
			var n int
			if err := db.ReadSnapshot(ctx, func(q sqldb.Querier) error {
				return q.QueryRowContext(ctx, `SELECT count(*) FROM keys`).Scan(&n)
			}); err != nil || n != 1 {
				t.Errorf("ReadSnapshot: %d rows, %v; want 1", n, err)
			}
			want := errors.New("stop")
			if err := db.ReadSnapshot(ctx, func(sqldb.Querier) error { return want }); !errors.Is(err, want) {
				t.Errorf("ReadSnapshot returned %v, want fn's error", err)
			}
		})
	}
}

// TestTryAdvisoryLock takes a lock in one transaction: a second transaction
// on PostgreSQL is refused it until the first ends; SQLite always grants it.
func TestTryAdvisoryLock(t *testing.T) {
	for _, b := range servicetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			db := b.Open(t)
			ctx := context.Background()
			query := `SELECT ` + db.TryAdvisoryLock("$1")
			first, err := db.BeginTx(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = first.Rollback() }()
			var got bool
			if err := first.QueryRowContext(ctx, query, "scope\nkey").Scan(&got); err != nil || !got {
				t.Fatalf("the first lock: %v, %v; want it taken", got, err)
			}
			if db.Dialect != sqldb.Postgres {
				return // one write transaction at a time: a second would wait at BEGIN
			}
			second, err := db.BeginTx(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = second.Rollback() }()
			if err := second.QueryRowContext(ctx, query, "scope\nkey").Scan(&got); err != nil || got {
				t.Errorf("the lock held by another transaction: %v, %v; want refused", got, err)
			}
			if err := second.QueryRowContext(ctx, query, "scope\nother").Scan(&got); err != nil || !got {
				t.Errorf("another name's lock: %v, %v; want it taken", got, err)
			}
		})
	}
}
