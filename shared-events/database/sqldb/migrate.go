package sqldb

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
)

// Migration brings one component's tables up to date, such as outbox.Migrate
// or the system's own schema (Schema).
type Migration func(ctx context.Context, db *DB) error

// Schema is the Migration of a system's own tables: component's files in fsys,
// under <dialect>/ at its root.
func Schema(component string, fsys fs.FS) Migration {
	return func(ctx context.Context, db *DB) error { return db.Migrate(ctx, component, fsys, ".") }
}

// Apply runs the migrations in order and stops at the first that fails: a
// system's whole schema is the plumbing it uses (the outbox, its inboxes...)
// and its own tables, each versioned under its own component.
func (db *DB) Apply(ctx context.Context, migrations ...Migration) error {
	for _, m := range migrations {
		if err := m(ctx, db); err != nil {
			return err
		}
	}
	return nil
}

// Migrate applies the migrations of one component that the database has not seen.
//
// Files live in fsys under dir/<dialect>/ and are named NNNN_description.sql; each
// runs in its own transaction together with its bookkeeping row, so a failed
// migration leaves nothing half-applied. Several components (the outbox, the inbox,
// the system itself) keep their own numbering in one schema_migrations table.
// A shipped migration is never edited: add a new number instead.
func (db *DB) Migrate(ctx context.Context, component string, fsys fs.FS, dir string) error {
	err := db.InTx(ctx, func(tx *sql.Tx) error {
		if db.Dialect == Postgres {
			// CREATE TABLE IF NOT EXISTS is not safe against itself on
			// PostgreSQL: two instances starting at once can both find the table
			// missing and one fails on the catalog's unique index.
			if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(7366021)`); err != nil {
				return err
			}
		}
		_, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
			component TEXT NOT NULL,
			version   INTEGER NOT NULL,
			name      TEXT NOT NULL,
			PRIMARY KEY (component, version))`)
		return err
	})
	if err != nil {
		return fmt.Errorf("sqldb: create schema_migrations: %w", err)
	}
	files, err := migrationFiles(fsys, path.Join(dir, string(db.Dialect)))
	if err != nil {
		return fmt.Errorf("sqldb: migrations of %s: %w", component, err)
	}
	for _, m := range files {
		err := db.InTx(ctx, func(tx *sql.Tx) error {
			if db.Dialect == Postgres {
				// Two instances starting at once would both try the same migration;
				// the lock makes the second wait and then find it applied.
				if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(7366021)`); err != nil {
					return err
				}
			}
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations WHERE component = $1 AND version = $2`,
				component, m.version).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				return nil
			}
			body, err := fs.ReadFile(fsys, m.path)
			if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, string(body)); err != nil {
				return fmt.Errorf("%s: %w", m.path, err)
			}
			_, err = tx.ExecContext(ctx, `INSERT INTO schema_migrations (component, version, name) VALUES ($1, $2, $3)`,
				component, m.version, m.name)
			return err
		})
		if err != nil {
			return fmt.Errorf("sqldb: migrate %s to %d: %w", component, m.version, err)
		}
	}
	return nil
}

type migration struct {
	version int
	name    string
	path    string
}

func migrationFiles(fsys fs.FS, dir string) ([]migration, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, err
	}
	var out []migration
	seen := map[int]string{}
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".sql") {
			continue
		}
		num, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v < 1 {
			return nil, fmt.Errorf("%s: name must start with a positive number and an underscore", e.Name())
		}
		if other, dup := seen[v]; dup {
			return nil, fmt.Errorf("%s and %s share the number %d", other, e.Name(), v)
		}
		seen[v] = e.Name()
		out = append(out, migration{version: v, name: e.Name(), path: path.Join(dir, e.Name())})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].version < out[j].version })
	for i, m := range out {
		if m.version != i+1 {
			return nil, fmt.Errorf("migration %d is missing before %s", i+1, m.name)
		}
	}
	return out, nil
}
