package sqldb_test

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/scs-platform/shared-events/database/sqldb"
	"github.com/scs-platform/shared-events/testkit/servicetest"
)

func TestOpenRefusesURLsItCannotUse(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ url, want string }{
		{"", "is empty"},
		{"mysql://root@localhost/x", "neither a postgres:// URL nor a SQLite file path"},
		{"data/x.db?_pragma=foo", "must not carry SQLite options"},
		{"sqlite:", "names no SQLite file"},
	} {
		t.Run(tc.url, func(t *testing.T) {
			_, err := sqldb.Open(context.Background(), tc.url)
			var ce *sqldb.ConfigError
			if !errors.As(err, &ce) || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "DATABASE_URL") {
				t.Fatalf("Open(%q) = %v, want a ConfigError naming DATABASE_URL and saying %q", tc.url, err, tc.want)
			}
		})
	}
}

func TestSQLiteIsOpenedInWALWithForeignKeys(t *testing.T) {
	t.Parallel()
	db := servicetest.SQLite(t)
	var mode string
	var fk, timeout int
	if err := db.QueryRow(`PRAGMA journal_mode`).Scan(&mode); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRow(`PRAGMA foreign_keys`).Scan(&fk); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRow(`PRAGMA busy_timeout`).Scan(&timeout); err != nil {
		t.Fatal(err)
	}
	if mode != "wal" || fk != 1 || timeout < 1000 {
		t.Errorf("journal_mode=%s foreign_keys=%d busy_timeout=%d, want wal, 1, at least 1000", mode, fk, timeout)
	}
}

func TestMigrateAppliesEachMigrationOnce(t *testing.T) {
	t.Parallel()
	fsys := os.DirFS("testdata")
	for _, b := range servicetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			db := b.Open(t)
			ctx := context.Background()
			for range 2 {
				if err := db.Migrate(ctx, "notes", fsys, "migrations"); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := db.Exec(`INSERT INTO notes (id, body, author) VALUES (1, 'x', 'y')`); err != nil {
				t.Fatalf("schema after both migrations: %v", err)
			}
			var n int
			if err := db.QueryRow(`SELECT count(*) FROM schema_migrations WHERE component = 'notes'`).Scan(&n); err != nil || n != 2 {
				t.Errorf("schema_migrations holds %d rows for notes (err %v), want 2", n, err)
			}
		})
	}
}

func TestMigrateRollsBackAFailedMigration(t *testing.T) {
	t.Parallel()
	for _, b := range servicetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			db := b.Open(t)
			d := string(db.Dialect)
			fsys := fstest.MapFS{
				"m/" + d + "/0001_ok.sql":  {Data: []byte(`CREATE TABLE a (id INTEGER PRIMARY KEY);`)},
				"m/" + d + "/0002_bad.sql": {Data: []byte(`CREATE TABLE b (id INTEGER PRIMARY KEY); SELECT no_such_function();`)},
			}
			err := db.Migrate(context.Background(), "x", fsys, "m")
			if err == nil || !strings.Contains(err.Error(), "migrate x to 2") {
				t.Fatalf("Migrate = %v, want an error naming migration 2", err)
			}
			if _, err := db.Exec(`SELECT count(*) FROM b`); err == nil {
				t.Error("table b exists: the failed migration was not rolled back")
			}
			if _, err := db.Exec(`SELECT count(*) FROM a`); err != nil {
				t.Errorf("migration 1 was lost: %v", err)
			}
		})
	}
}

func TestMigrateRefusesGapsAndDuplicates(t *testing.T) {
	t.Parallel()
	db := servicetest.SQLite(t)
	for name, files := range map[string][]string{
		"gap":        {"0001_a.sql", "0003_c.sql"},
		"duplicate":  {"0001_a.sql", "0001_b.sql"},
		"unnumbered": {"a.sql"},
	} {
		t.Run(name, func(t *testing.T) {
			fsys := fstest.MapFS{}
			for _, f := range files {
				fsys["m/sqlite/"+f] = &fstest.MapFile{Data: []byte(`SELECT 1;`)}
			}
			if err := db.Migrate(context.Background(), "y"+name, fsys, "m"); err == nil {
				t.Errorf("Migrate accepted %v", files)
			}
		})
	}
}

func TestInTxRunsCommitHooksOnlyAfterACommit(t *testing.T) {
	t.Parallel()
	db := servicetest.SQLite(t)
	calls := 0
	db.OnCommit(func() { calls++ })
	ctx := context.Background()
	_ = db.InTx(ctx, func(*sql.Tx) error { return errors.New("no") })
	if calls != 0 {
		t.Fatalf("hook ran %d times after a rollback", calls)
	}
	if err := db.InTx(ctx, func(*sql.Tx) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if calls != 1 {
		t.Fatalf("hook ran %d times after one commit", calls)
	}
}

// TestMigrateFromInstancesStartingTogether migrates one fresh PostgreSQL
// database from four connections pools at once, as four instances starting
// together would: every one succeeds, and each migration is applied once.
func TestMigrateFromInstancesStartingTogether(t *testing.T) {
	t.Parallel()
	url := servicetest.PostgresURL(t)
	ctx := context.Background()
	var dbs []*sqldb.DB
	for range 4 {
		db, err := sqldb.Open(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		dbs = append(dbs, db)
	}
	errs := make(chan error, len(dbs))
	var wg sync.WaitGroup
	for _, db := range dbs {
		wg.Go(func() { errs <- db.Migrate(ctx, "notes", os.DirFS("testdata"), "migrations") })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("Migrate: %v", err)
		}
	}
	var n int
	if err := dbs[0].QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations WHERE component = 'notes'`).Scan(&n); err != nil || n != 2 {
		t.Errorf("schema_migrations holds %d rows for notes, %v; want 2", n, err)
	}
}

// TestLockTxMakesTransactionsTakeTurns has transactions read a counter, wait,
// and write it back one higher, under one lock: none is lost, on SQLite from
// one pool, on PostgreSQL from two pools (two instances) at once.
func TestLockTxMakesTransactionsTakeTurns(t *testing.T) {
	for _, b := range servicetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			db := b.Open(t)
			if _, err := db.ExecContext(ctx, `CREATE TABLE counter (n INTEGER NOT NULL)`); err != nil {
				t.Fatal(err)
			}
			if _, err := db.ExecContext(ctx, `INSERT INTO counter (n) VALUES (0)`); err != nil {
				t.Fatal(err)
			}
			instances := []*sqldb.DB{db}
			if db.Dialect == sqldb.Postgres {
				other, err := sqldb.Open(ctx, db.DSN())
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { other.Close() })
				instances = append(instances, other)
			}
			const turns = 8
			errs := make(chan error, turns)
			var wg sync.WaitGroup
			for i := range turns {
				db := instances[i%len(instances)]
				wg.Go(func() {
					errs <- db.InTx(ctx, func(tx *sql.Tx) error {
						if err := db.LockTx(ctx, tx, 42); err != nil {
							return err
						}
						var n int
						if err := tx.QueryRowContext(ctx, `SELECT n FROM counter`).Scan(&n); err != nil {
							return err
						}
						time.Sleep(5 * time.Millisecond)
						_, err := tx.ExecContext(ctx, `UPDATE counter SET n = $1`, n+1)
						return err
					})
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				if err != nil {
					t.Fatal(err)
				}
			}
			var n int
			if err := db.QueryRowContext(ctx, `SELECT n FROM counter`).Scan(&n); err != nil || n != turns {
				t.Errorf("counter = %d, %v; want %d: a transaction did not wait its turn", n, err, turns)
			}
		})
	}
}

// TestStatementIsPreparedOnce returns one statement per query, usable in
// every transaction after it.
func TestStatementIsPreparedOnce(t *testing.T) {
	t.Parallel()
	for _, b := range servicetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			db := b.Open(t)
			ctx := context.Background()
			if _, err := db.Exec(`CREATE TABLE counters (id INTEGER PRIMARY KEY, n INTEGER NOT NULL)`); err != nil {
				t.Fatal(err)
			}
			const insert = `INSERT INTO counters (id, n) VALUES ($1, $2)`
			first, err := db.Statement(ctx, insert)
			if err != nil {
				t.Fatal(err)
			}
			again, err := db.Statement(ctx, insert)
			if err != nil || again != first {
				t.Fatalf("a second Statement of the query: %p, %v; want the first, %p", again, err, first)
			}
			for i := range 3 {
				if err := db.InTx(ctx, func(tx *sql.Tx) error {
					_, err := tx.StmtContext(ctx, first).ExecContext(ctx, i, i*10)
					return err
				}); err != nil {
					t.Fatal(err)
				}
			}
			var sum int
			if err := db.QueryRow(`SELECT sum(n) FROM counters`).Scan(&sum); err != nil || sum != 30 {
				t.Errorf("sum %d, %v; want the three rows", sum, err)
			}
			if _, err := db.Statement(ctx, `SELECT * FROM no_such_table`); err == nil {
				t.Error("a statement on a missing table was prepared")
			}
		})
	}
}

// TestSQLiteQueriesArePreparedOnce runs a query outside a transaction many
// times: it is prepared once and gives each call's answer; a script of
// several statements still runs whole; an error comes where it would without
// the cache.
func TestSQLiteQueriesArePreparedOnce(t *testing.T) {
	t.Parallel()
	db := servicetest.SQLite(t)
	ctx := context.Background()
	if _, err := db.ExecContext(ctx, `CREATE TABLE a (n INTEGER); CREATE TABLE b (n INTEGER)`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, `INSERT INTO a (n) VALUES (1); INSERT INTO b (n) VALUES (2);`); err != nil {
		t.Fatal(err)
	}
	before := db.CachedStatements()
	for i := range 5 {
		if _, err := db.ExecContext(ctx, `INSERT INTO a (n) VALUES ($1)`, 10+i); err != nil {
			t.Fatal(err)
		}
		var n int
		if err := db.QueryRowContext(ctx, `SELECT count(*) FROM a WHERE n >= $1`, 10).Scan(&n); err != nil || n != i+1 {
			t.Fatalf("call %d: %d rows, %v; want %d", i, n, err, i+1)
		}
		rows, err := db.QueryContext(ctx, `SELECT n FROM b WHERE n = $1`, 2)
		if err != nil {
			t.Fatal(err)
		}
		if !rows.Next() {
			t.Fatalf("call %d: the second script's insert is missing", i)
		}
		rows.Close()
	}
	if got := db.CachedStatements() - before; got != 3 {
		t.Errorf("%d statements prepared for three queries run five times each; want 3", got)
	}
	var n int
	if err := db.QueryRowContext(ctx, `SELECT n FROM no_such_table`).Scan(&n); err == nil || !strings.Contains(err.Error(), "no_such_table") {
		t.Errorf("a query of a missing table: %v, want the driver's error naming it", err)
	}
}

func TestLimit(t *testing.T) {
	t.Parallel()
	for n, want := range map[int]string{21: " LIMIT 21", 0: " LIMIT 0", -5: " LIMIT 0"} {
		if got := sqldb.Limit(n); got != want {
			t.Errorf("Limit(%d) = %q, want %q", n, got, want)
		}
	}
}

// BenchmarkLimitClause reads a page of 20 rows of 1,000 through a prepared
// statement, its LIMIT bound as a parameter (which SQLite re-prepares on every
// run) and written by Limit.
//
//	go test -run - -bench LimitClause ./sqldb/
func BenchmarkLimitClause(b *testing.B) {
	db := servicetest.SQLite(b)
	ctx := context.Background()
	if _, err := db.ExecContext(ctx, `CREATE TABLE rows (seq INTEGER PRIMARY KEY, owner TEXT NOT NULL, body TEXT NOT NULL);
		CREATE INDEX rows_owner ON rows (owner, seq)`); err != nil {
		b.Fatal(err)
	}
	if err := db.InTx(ctx, func(tx *sql.Tx) error {
		for i := range 1000 {
			if _, err := tx.ExecContext(ctx, `INSERT INTO rows (owner, body) VALUES ('a', $1)`, strings.Repeat("x", i%50)); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		b.Fatal(err)
	}
	const page = `SELECT seq, body FROM rows WHERE owner = $1 AND seq < $2 ORDER BY seq DESC`
	for _, run := range []struct {
		name, query string
		args        []any
	}{
		{"bound", page + ` LIMIT $3`, []any{"a", 1 << 62, 20}},
		{"written", page + sqldb.Limit(20), []any{"a", 1 << 62}},
	} {
		b.Run(run.name, func(b *testing.B) {
			stmt, err := db.Statement(ctx, run.query)
			if err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				rows, err := stmt.QueryContext(ctx, run.args...)
				if err != nil {
					b.Fatal(err)
				}
				n := 0
				for rows.Next() {
					n++
				}
				rows.Close()
				if n != 20 {
					b.Fatalf("%d rows, want 20", n)
				}
			}
		})
	}
}
