package sqldb

import (
	"context"
	"database/sql"
	"errors"
)

// The helpers here say, once, what differs between the two engines, so that a
// system's own code asks what it needs (a lock clause, a snapshot, whether a
// capability exists) and never which engine it runs on.

// ForUpdateOf is ForUpdate limited to the rows of the table (or alias) named:
// a join's other rows stay unlocked, and the nullable side of a LEFT JOIN,
// which PostgreSQL cannot lock, is left out. Nothing on SQLite.
func (db *DB) ForUpdateOf(table string) string {
	if f := db.ForUpdate(); f != "" {
		return f + " OF " + table
	}
	return ""
}

// ForUpdateSkipLocked is ForUpdate for a batch job that instances share: each
// takes the rows nobody else holds. Nothing on SQLite, whose write transaction
// holds the whole database.
func (db *DB) ForUpdateSkipLocked() string {
	if f := db.ForUpdate(); f != "" {
		return f + " SKIP LOCKED"
	}
	return ""
}

// TryAdvisoryLock is an SQL expression that takes the advisory lock named by
// the text parameter param (such as "$1") for the rest of the transaction it
// runs in, and is true if it got it, false if another transaction holds it:
// instances on one database tell each other so what they are working on.
// PostgreSQL takes pg_try_advisory_xact_lock on the text's hash. On SQLite it
// is TRUE: one process, whose write transaction holds the database's one write
// lock from BEGIN, has nothing more to lock (and modernc lets a statement
// leave a parameter unused).
func (db *DB) TryAdvisoryLock(param string) string {
	if db.Dialect == Postgres {
		return "pg_try_advisory_xact_lock(hashtextextended(" + param + ", 0))"
	}
	return "TRUE"
}

// ChainsWrites reports whether one statement can feed the rows that one write
// RETURNs into another write (PostgreSQL's data-modifying WITH), which saves a
// round trip. SQLite cannot: there, the two writes are two statements.
func (db *DB) ChainsWrites() bool { return db.Dialect == Postgres }

// Querier is what reads need: a *DB or a *sql.Tx.
type Querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// ReadSnapshot runs the reads of fn on one snapshot, so that the figures they
// read agree with each other: a read-only repeatable-read transaction on
// PostgreSQL; the database itself on SQLite, where a write commits whole
// before a reader sees it and readers never wait for the writer (WAL).
func (db *DB) ReadSnapshot(ctx context.Context, fn func(q Querier) error) error {
	if db.Dialect != Postgres {
		return fn(db)
	}
	tx, err := db.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true})
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback() }()
	if err := fn(tx); err != nil {
		return err
	}
	return tx.Commit()
}

// IsUniqueViolation reports whether err is a unique constraint's refusal, on
// either engine.
func IsUniqueViolation(err error) bool {
	if pg, ok := errors.AsType[interface {
		error
		SQLState() string
	}](err); ok {
		return pg.SQLState() == "23505"
	}
	if lite, ok := errors.AsType[interface {
		error
		Code() int
	}](err); ok {
		return lite.Code() == 2067 || lite.Code() == 1555 // SQLITE_CONSTRAINT_UNIQUE, _PRIMARYKEY
	}
	return false
}
