// Package outbox is the transactional outbox: a system appends events inside the
// same *sql.Tx as the change they describe, and a Relay publishes them to RabbitMQ
// in commit order with publisher confirms. Rows are marked sent only once the
// broker has confirmed them, so a crash, a nack or a lost connection leads to a
// second publish (which consumers' inboxes absorb), never to a lost event.
//
// The outbox table is also the owner's event history; Read pages through it for
// the bootstrap feed.
package outbox

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/scs-platform/shared-events/contracts/cloudevent"
	"github.com/scs-platform/shared-events/database/sqldb"
	"github.com/scs-platform/shared-events/eventing/eventsig"
	"github.com/scs-platform/shared-events/runtime/telemetry"
)

//go:embed migrations
var migrations embed.FS

// advisoryLockAppend serialises appends on PostgreSQL (see Append).
const advisoryLockAppend = 7366022

// notifyChannel is the PostgreSQL channel that tells relays a commit added events.
const notifyChannel = "scs_outbox"

// Outbox stores events of one owner in its database.
type Outbox struct {
	db   *sqldb.DB
	wake chan struct{}
	// signer signs every event as it is stored, in the transaction of the
	// change: the key lives in the process, not in the database, so a row that
	// anyone else writes into the table carries no valid signature.
	signer *eventsig.Signer

	// insert is prepared once: database/sql keeps it prepared per connection and
	// hands a transaction the copy of its connection, which spares SQLite from
	// parsing the INSERT for every event.
	insertMu sync.Mutex
	insert   *sql.Stmt
}

func (o *Outbox) insertStmt(ctx context.Context) (*sql.Stmt, error) {
	o.insertMu.Lock()
	defer o.insertMu.Unlock()
	if o.insert == nil {
		st, err := o.db.PrepareContext(ctx, `INSERT INTO outbox
			(event_id, source, type, subject, occurred_at_us, aggregate_version, traceparent, data, signature_key, signature)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`)
		if err != nil {
			return nil, fmt.Errorf("outbox: prepare insert: %w", err)
		}
		o.insert = st
	}
	return o.insert, nil
}

// New returns the outbox in db, whose events are signed by signer, and
// registers a commit hook on db, so that the local relay wakes as soon as any
// sqldb.DB.InTx transaction commits. A nil signer is a programming error: no
// event leaves an owner unsigned.
func New(db *sqldb.DB, signer *eventsig.Signer) *Outbox {
	if signer == nil {
		panic("outbox: New without a signer")
	}
	o := &Outbox{db: db, wake: make(chan struct{}, 1), signer: signer}
	db.OnCommit(o.Wake)
	return o
}

// Migrate creates or upgrades the outbox table.
func (o *Outbox) Migrate(ctx context.Context) error { return Migrate(ctx, o.db) }

// Migrate creates or upgrades the outbox table in db, for code that migrates
// a system's whole schema before it builds the system.
func Migrate(ctx context.Context, db *sqldb.DB) error {
	return db.Migrate(ctx, "outbox", migrations, "migrations")
}

// Wake tells the local relay that there may be new rows. It never blocks.
func (o *Outbox) Wake() {
	select {
	case o.wake <- struct{}{}:
	default:
	}
}

// Append stores events in tx. Call it inside sqldb.DB.InTx so that the relay wakes
// when the transaction commits; otherwise it finds the events at its next poll.
//
// An event without a TraceParent gets that of the span in ctx, if any: the
// request or the event reaction that caused it. Its consumers then apply it in
// the same trace (see telemetry).
//
// On PostgreSQL, Append takes a transaction-scoped advisory lock before taking a
// sequence number. Without it, a transaction could take seq 5, commit after another
// took seq 6, and the relay and the feed, reading in seq order, would pass 5 by.
// The lock makes the order of sequence numbers the order of commits, at the price
// of serialising the tail of event-producing transactions. The NOTIFY is delivered
// to relays in every instance when, and only if, tx commits.
func (o *Outbox) Append(ctx context.Context, tx *sql.Tx, events ...cloudevent.Event) error {
	if len(events) == 0 {
		return nil
	}
	if err := o.db.LockTx(ctx, tx, advisoryLockAppend); err != nil {
		return fmt.Errorf("outbox: %w", err)
	}
	insert, err := o.insertStmt(ctx)
	if err != nil {
		return err
	}
	insert = tx.StmtContext(ctx, insert)
	traceParent := telemetry.TraceParent(ctx)
	for _, ev := range events {
		if ev.TraceParent == "" {
			ev.TraceParent = traceParent
		}
		if err := ev.Validate(); err != nil {
			return fmt.Errorf("outbox: refuse %s: %w", ev.Type, err)
		}
		// Stored as it is read back: in microseconds, as the column holds it.
		ev.Time = time.UnixMicro(ev.Time.UnixMicro()).UTC()
		signed, err := o.signer.Sign(ev)
		if err != nil {
			return fmt.Errorf("outbox: refuse %s: %w", ev.Type, err)
		}
		if _, err := insert.ExecContext(ctx,
			ev.ID, ev.Source, ev.Type, ev.Subject, ev.Time.UnixMicro(), ev.AggregateVersion, ev.TraceParent, string(ev.Data),
			signed.SignatureKey, signed.Signature); err != nil {
			return fmt.Errorf("outbox: append %s: %w", ev.Type, err)
		}
	}
	if o.db.Dialect == sqldb.Postgres {
		if _, err := tx.ExecContext(ctx, `SELECT pg_notify($1, '')`, notifyChannel); err != nil {
			return fmt.Errorf("outbox: notify: %w", err)
		}
	}
	return nil
}

// SignStored signs, once, the rows stored before events were signed as they
// are stored (outbox_unsigned_through holds the last of them), and returns
// how many it signed. A row without a signature stored later is never signed:
// nobody but Append writes a genuine one.
func (o *Outbox) SignStored(ctx context.Context) (int64, error) {
	var n int64
	err := o.db.InTx(ctx, func(tx *sql.Tx) error {
		var through int64
		err := tx.QueryRowContext(ctx, `SELECT seq FROM outbox_unsigned_through`).Scan(&through)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		events, err := scanEvents(tx.QueryContext(ctx, selectEvents+`WHERE seq <= $1 AND signature = '' ORDER BY seq`, through))
		if err != nil {
			return err
		}
		for _, ev := range events {
			if err := o.sign(ctx, tx, ev); err != nil {
				return err
			}
			n++
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM outbox_unsigned_through`)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("outbox: sign the rows stored before signatures: %w", err)
	}
	return n, nil
}

// Resign signs again, with the outbox's signer, every stored event that one of
// previous signed (or the signer itself), and returns how many it signed and
// how many it left alone because none of those keys signed them. It is the
// last step of rotating the owner's key (README, "Trust model"): the history
// that the feed serves then carries the new key, and consumers can drop the
// old one. A row nobody of previous signed stays as it is: it is not the
// owner's, and consumers keep refusing it.
func (o *Outbox) Resign(ctx context.Context, previous *eventsig.Keys) (resigned, refused int64, err error) {
	current := o.signer.Keys()
	var after int64
	for {
		var page []cloudevent.Event
		page, err = scanEvents(o.db.QueryContext(ctx, selectEvents+`WHERE seq > $1 ORDER BY seq`+sqldb.Limit(500), after))
		if err != nil {
			return resigned, refused, fmt.Errorf("outbox: resign: %w", err)
		}
		if len(page) == 0 {
			return resigned, refused, nil
		}
		err = o.db.InTx(ctx, func(tx *sql.Tx) error {
			for _, ev := range page {
				if ev.SignatureKey == o.signer.KeyID() && current.Verify(ev) == nil {
					continue
				}
				if previous.Verify(ev) != nil {
					refused++
					continue
				}
				if err := o.sign(ctx, tx, ev); err != nil {
					return err
				}
				resigned++
			}
			return nil
		})
		if err != nil {
			return resigned, refused, fmt.Errorf("outbox: resign: %w", err)
		}
		after = page[len(page)-1].Sequence
	}
}

// sign signs the stored event ev, as it was read, with the outbox's signer.
// Only the row as it was read is changed: a concurrent Forget may have deleted
// it meanwhile, which is fine.
func (o *Outbox) sign(ctx context.Context, tx *sql.Tx, ev cloudevent.Event) error {
	signed, err := o.signer.Sign(ev)
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `UPDATE outbox SET signature_key = $1, signature = $2 WHERE seq = $3 AND signature = $4`,
		signed.SignatureKey, signed.Signature, ev.Sequence, ev.Signature)
	return err
}

// Forget deletes, in tx, the events of one aggregate's subject (aggregate is
// "<owner>.<aggregate>", such as "users.user") whose aggregate version is below
// before, and returns how many it deleted. It erases personal data from the
// owner's history, for a deleted user say: every event carries the aggregate's
// whole state, so the newest event, which stays, is all that a consumer catching
// up from the feed needs to end where the others are.
//
// A relay that has already read a forgotten row may still publish it; a
// consumer that applied the newer event finds the copy stale.
func (o *Outbox) Forget(ctx context.Context, tx *sql.Tx, aggregate, subject string, before int64) (int64, error) {
	prefix := aggregate + "."
	res, err := tx.ExecContext(ctx, `DELETE FROM outbox WHERE subject = $1 AND substr(type, 1, length($2)) = $2 AND aggregate_version < $3`,
		subject, prefix, before)
	if err != nil {
		return 0, fmt.Errorf("outbox: forget %s %s: %w", aggregate, subject, err)
	}
	return res.RowsAffected()
}

const selectEvents = `SELECT seq, event_id, source, type, subject, occurred_at_us, aggregate_version, traceparent, data, signature_key, signature FROM outbox `

// Read returns up to limit events with a sequence greater than after, in order,
// and the highest sequence stored (for progress reports). It reads sent and unsent
// events alike: a consumer bootstrapping from the feed dedupes the overlap with its
// queue.
func (o *Outbox) Read(ctx context.Context, after int64, limit int) (events []cloudevent.Event, head int64, err error) {
	// Two statements, not one transaction: on SQLite every transaction takes the
	// write lock, and a feed reader must not hold up writers. The head only feeds
	// progress reports, so reading it a moment before the page does no harm.
	if err := o.db.QueryRowContext(ctx, `SELECT COALESCE(MAX(seq), 0) FROM outbox`).Scan(&head); err != nil {
		return nil, 0, fmt.Errorf("outbox: read head: %w", err)
	}
	events, err = scanEvents(o.db.QueryContext(ctx, selectEvents+`WHERE seq > $1 ORDER BY seq`+sqldb.Limit(limit), after))
	if err != nil {
		return nil, 0, fmt.Errorf("outbox: read after %d: %w", after, err)
	}
	return events, max(head, lastSequence(events)), nil
}

func lastSequence(events []cloudevent.Event) int64 {
	if len(events) == 0 {
		return 0
	}
	return events[len(events)-1].Sequence
}

// unsent returns up to limit unsent events with a sequence greater than after.
func (o *Outbox) unsent(ctx context.Context, after int64, limit int) ([]cloudevent.Event, error) {
	evs, err := scanEvents(o.db.QueryContext(ctx, selectEvents+`WHERE sent_at_us IS NULL AND seq > $1 ORDER BY seq`+sqldb.Limit(limit), after))
	if err != nil {
		return nil, fmt.Errorf("outbox: read unsent: %w", err)
	}
	return evs, nil
}

// markSent marks the unsent rows from..to as sent. The relay publishes rows in
// sequence order and, because sequence order is commit order, every unsent row in
// that range is one it has published and seen confirmed.
func (o *Outbox) markSent(ctx context.Context, from, to int64) error {
	if _, err := o.db.ExecContext(ctx, `UPDATE outbox SET sent_at_us = $1 WHERE seq >= $2 AND seq <= $3 AND sent_at_us IS NULL`,
		time.Now().UnixMicro(), from, to); err != nil {
		return fmt.Errorf("outbox: mark %d..%d sent: %w", from, to, err)
	}
	return nil
}

// Backlog is the number of unsent events and the age of the oldest one.
func (o *Outbox) Backlog(ctx context.Context) (count int64, oldest time.Duration, err error) {
	var minUS sql.NullInt64
	if err := o.db.QueryRowContext(ctx, `SELECT count(*), MIN(occurred_at_us) FROM outbox WHERE sent_at_us IS NULL`).Scan(&count, &minUS); err != nil {
		return 0, 0, fmt.Errorf("outbox: backlog: %w", err)
	}
	if minUS.Valid {
		oldest = max(0, time.Since(time.UnixMicro(minUS.Int64)))
	}
	return count, oldest, nil
}

func scanEvents(rows *sql.Rows, err error) ([]cloudevent.Event, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []cloudevent.Event
	for rows.Next() {
		var ev cloudevent.Event
		var us int64
		var data string
		if err := rows.Scan(&ev.Sequence, &ev.ID, &ev.Source, &ev.Type, &ev.Subject, &us, &ev.AggregateVersion, &ev.TraceParent, &data,
			&ev.SignatureKey, &ev.Signature); err != nil {
			return nil, err
		}
		ev.Time = time.UnixMicro(us).UTC()
		ev.Data = []byte(data)
		out = append(out, ev)
	}
	return out, rows.Err()
}
