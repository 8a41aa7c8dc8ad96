// Package sqldb opens the database of a system the one way the platform does it:
// SQLite (modernc.org/sqlite, WAL) for a file path or a "sqlite:"/"file:" URL, and
// PostgreSQL through pgx for a "postgres://" or "postgresql://" URL. It also applies
// embedded, numbered, append-only migrations.
//
// Queries are written once for both dialects with $1, $2, ... placeholders: pgx
// binds them natively and modernc binds $N to the Nth argument.
package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
	_ "modernc.org/sqlite"             // registers the "sqlite" driver
)

// Dialect names the SQL engine behind a DB.
type Dialect string

// The two engines the platform runs on.
const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

// DB is a *sql.DB that knows its dialect and where it points (without secrets).
type DB struct {
	*sql.DB
	Dialect Dialect
	// URL is the location for logs, with any password removed.
	URL string
	// dsn is what the driver was opened with; Postgres needs it for LISTEN.
	dsn string

	hooksMu sync.Mutex
	hooks   []func()

	// writer makes this process's SQLite transactions take turns in Go, in
	// order, rather than in SQLite's busy handler, which retries after sleeps
	// of up to 100 ms and so gave a busy write load a tail of hundreds of ms.
	writer sync.Mutex

	stmtsMu sync.Mutex
	stmts   map[string]*sql.Stmt
}

// OnCommit registers fn to run after every transaction that InTx commits. The
// outbox uses it to wake its relay the moment events become visible; fn must not
// block.
func (db *DB) OnCommit(fn func()) {
	db.hooksMu.Lock()
	defer db.hooksMu.Unlock()
	db.hooks = append(db.hooks, fn)
}

// DSN is the connection string the database was opened with. It may hold a
// password: never log it.
func (db *DB) DSN() string { return db.dsn }

// ConfigError is a DATABASE_URL the platform cannot use.
type ConfigError struct {
	URL    string
	Reason string
}

func (e *ConfigError) Error() string {
	return fmt.Sprintf("DATABASE_URL %q %s", e.URL, e.Reason)
}

// Open connects to the database named by rawURL and checks that it answers.
//
// SQLite is opened with busy_timeout before WAL (so that switching the journal
// mode itself waits for a lock instead of failing), _txlock=immediate (a write
// transaction takes the write lock at BEGIN, which avoids SQLITE_BUSY upgrades
// that busy_timeout cannot resolve), foreign keys on and synchronous=NORMAL,
// which is durable in WAL mode except for the last commits on power loss.
func Open(ctx context.Context, rawURL string) (*DB, error) {
	db, err := open(rawURL)
	if err != nil {
		return nil, err
	}
	pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := db.PingContext(pingCtx); err != nil {
		db.Close()
		return nil, fmt.Errorf("sqldb: connect to %s: %w", db.URL, err)
	}
	return db, nil
}

func open(rawURL string) (*DB, error) {
	switch {
	case strings.HasPrefix(rawURL, "postgres://"), strings.HasPrefix(rawURL, "postgresql://"):
		u, err := url.Parse(rawURL)
		if err != nil {
			return nil, &ConfigError{URL: "postgres://…", Reason: "is not a valid URL: " + err.Error()}
		}
		sqlDB, err := sql.Open("pgx", rawURL)
		if err != nil {
			return nil, fmt.Errorf("sqldb: open postgres: %w", err)
		}
		sqlDB.SetMaxOpenConns(20)
		sqlDB.SetMaxIdleConns(10)
		sqlDB.SetConnMaxIdleTime(5 * time.Minute)
		return &DB{DB: sqlDB, Dialect: Postgres, URL: u.Redacted(), dsn: rawURL}, nil
	case rawURL == "":
		return nil, &ConfigError{URL: rawURL, Reason: "is empty"}
	case strings.Contains(rawURL, "://") && !strings.HasPrefix(rawURL, "sqlite://") && !strings.HasPrefix(rawURL, "file://"):
		return nil, &ConfigError{URL: rawURL, Reason: "is neither a postgres:// URL nor a SQLite file path"}
	}
	path := strings.TrimPrefix(strings.TrimPrefix(strings.TrimPrefix(rawURL, "sqlite://"), "file://"), "sqlite:")
	path = strings.TrimPrefix(path, "file:")
	if i := strings.IndexByte(path, '?'); i >= 0 {
		return nil, &ConfigError{URL: rawURL, Reason: "must not carry SQLite options: the platform sets them itself"}
	}
	if path == "" {
		return nil, &ConfigError{URL: rawURL, Reason: "names no SQLite file"}
	}
	if dir := filepath.Dir(path); dir != "." {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return nil, fmt.Errorf("sqldb: create directory for %s: %w", path, err)
		}
	}
	dsn := "file:" + path + "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)" +
		"&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)&_txlock=immediate&_time_format=sqlite"
	sqlDB, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("sqldb: open sqlite %s: %w", path, err)
	}
	// SQLite has one writer at a time; a handful of connections serve concurrent
	// readers under WAL while writers queue on busy_timeout.
	sqlDB.SetMaxOpenConns(8)
	sqlDB.SetMaxIdleConns(8)
	sqlDB.SetConnMaxIdleTime(0)
	return &DB{DB: sqlDB, Dialect: SQLite, URL: path, dsn: dsn}, nil
}

// ForUpdate is the clause that makes a SELECT in a transaction lock the rows it
// reads until the transaction ends, for a read-modify-write that concurrent
// transactions must take turns at: " FOR NO KEY UPDATE" on PostgreSQL, nothing
// on SQLite, whose write transactions (opened with _txlock=immediate) hold the
// database's one write lock from BEGIN.
//
// NO KEY: the lock leaves the rows' keys alone, so that it does not conflict
// with the KEY SHARE locks that inserting a row which references them takes,
// which "FOR UPDATE" does, and which deadlocks two transactions that each lock
// one row and reference the other's.
func (db *DB) ForUpdate() string {
	if db.Dialect == Postgres {
		return " FOR NO KEY UPDATE"
	}
	return ""
}

// LockTx makes the transactions that call it with the same key take turns, from
// the call until each ends, across every process that uses the database: for a
// decision that must see everything the previous one wrote (a matchmaking, a
// rotation) or a log whose sequence numbers must commit in order.
//
// PostgreSQL takes the transaction-scoped advisory lock key. SQLite needs
// nothing: its write transactions (opened with _txlock=immediate) hold the
// database's one write lock from BEGIN, so they take turns at everything.
func (db *DB) LockTx(ctx context.Context, tx *sql.Tx, key int64) error {
	if db.Dialect != Postgres {
		return nil
	}
	if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, key); err != nil {
		return fmt.Errorf("sqldb: lock %d: %w", key, err)
	}
	return nil
}

// InTx runs fn in a transaction and commits it when fn returns nil.
//
// On SQLite, where every transaction takes the one write lock at BEGIN, the
// process's transactions queue for it on a mutex first.
func (db *DB) InTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	if err := db.inTx(ctx, fn); err != nil {
		return err
	}
	db.hooksMu.Lock()
	hooks := db.hooks
	db.hooksMu.Unlock()
	for _, fn := range hooks {
		fn()
	}
	return nil
}

func (db *DB) inTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	if db.Dialect == SQLite {
		db.writer.Lock()
		defer db.writer.Unlock()
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqldb: begin: %w", err)
	}
	if err := fn(tx); err != nil {
		return errors.Join(err, ignoreDone(tx.Rollback()))
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqldb: commit: %w", err)
	}
	return nil
}

func ignoreDone(err error) error {
	if errors.Is(err, sql.ErrTxDone) {
		return nil
	}
	return err
}

// Statement returns query prepared, once per DB: on SQLite, parsing was a
// fifth of a short transaction's CPU. database/sql then prepares it on each
// connection it is used on; in a transaction, use it through tx.StmtContext.
//
// Preparing takes a connection of its own, so a transaction asks for its
// statements before it begins where it can. The lock is not held while
// preparing: a caller whose statement is ready never waits for one that is
// being prepared.
func (db *DB) Statement(ctx context.Context, query string) (*sql.Stmt, error) {
	db.stmtsMu.Lock()
	stmt, ok := db.stmts[query]
	db.stmtsMu.Unlock()
	if ok {
		return stmt, nil
	}
	stmt, err := db.PrepareContext(ctx, query)
	if err != nil {
		return nil, fmt.Errorf("sqldb: prepare: %w", err)
	}
	db.stmtsMu.Lock()
	first, ok := db.stmts[query]
	if !ok {
		if db.stmts == nil {
			db.stmts = map[string]*sql.Stmt{}
		}
		db.stmts[query] = stmt
	}
	db.stmtsMu.Unlock()
	if ok {
		// Prepared at the same time by another caller: keep theirs, and close
		// ours only now. Closing waits for every connection it was prepared on,
		// and one of them may be running a statement that waits for a row lock
		// of a transaction whose next statement waits for stmtsMu: closing
		// under the lock was a deadlock between Go and the database.
		_ = stmt.Close()
		return first, nil
	}
	return stmt, nil
}

// maxCachedStatements bounds the statements that QueryContext and friends
// keep prepared on SQLite: the systems' queries are constants, a few dozen
// each, so more than this means queries built from values, not worth keeping.
const maxCachedStatements = 256

// cached returns the prepared statement of query when the driver would
// otherwise parse it on every call (SQLite; pgx keeps its own cache of
// prepared statements per connection), or nil to run it as it is.
func (db *DB) cached(ctx context.Context, query string) *sql.Stmt {
	// A script of several statements is run as it is: a prepared statement
	// is one statement.
	if db.Dialect != SQLite || strings.Contains(strings.TrimRight(query, "; \n\t"), ";") {
		return nil
	}
	db.stmtsMu.Lock()
	stmt, ok := db.stmts[query]
	full := len(db.stmts) >= maxCachedStatements
	db.stmtsMu.Unlock()
	if ok {
		return stmt
	}
	if full {
		return nil
	}
	stmt, err := db.Statement(ctx, query)
	if err != nil {
		// Run it unprepared: the same error, from where the caller expects it.
		return nil
	}
	return stmt
}

// QueryContext is sql.DB's, with the statement prepared once on SQLite: a
// page's reads (the session's checks against the replica, the page's own
// queries) spent a third of their CPU in SQLite's parser.
func (db *DB) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if stmt := db.cached(ctx, query); stmt != nil {
		return stmt.QueryContext(ctx, args...)
	}
	return db.DB.QueryContext(ctx, query, args...)
}

// QueryRowContext is sql.DB's, with the statement prepared once on SQLite.
func (db *DB) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if stmt := db.cached(ctx, query); stmt != nil {
		return stmt.QueryRowContext(ctx, args...)
	}
	return db.DB.QueryRowContext(ctx, query, args...)
}

// ExecContext is sql.DB's, with the statement prepared once on SQLite.
func (db *DB) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if stmt := db.cached(ctx, query); stmt != nil {
		return stmt.ExecContext(ctx, args...)
	}
	return db.DB.ExecContext(ctx, query, args...)
}

// Limit is the clause " LIMIT n" with n written into the SQL, for a query
// whose row count comes from code (a page size, a batch): SQLite re-prepares
// a statement whose LIMIT is a bound parameter every time it runs, since it
// plans with the bound value, which made the card overview's page of
// transactions cost 28 µs instead of 6 µs. Each n is a statement of its own, so
// n must come from a bounded set; a negative n is 0.
func Limit(n int) string {
	return " LIMIT " + strconv.Itoa(max(n, 0))
}
