// Package consumer applies another system's events to a local replica.
//
// Every event is applied in one local transaction together with its inbox row
// (event id) and the aggregate's version, and acknowledged only after that
// transaction commits. So a duplicate delivery changes nothing, an event older than
// what the replica holds changes nothing, and a crash before the ack leads to a
// redelivery that the inbox absorbs. The platform's events carry the whole state
// of their aggregate, which is what makes "the newest version wins" correct.
package consumer

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	amqp "github.com/rabbitmq/amqp091-go"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/scs-platform/shared-events/contracts"
	"github.com/scs-platform/shared-events/contracts/cloudevent"
	"github.com/scs-platform/shared-events/database/sqldb"
	"github.com/scs-platform/shared-events/eventing/broker"
	"github.com/scs-platform/shared-events/eventing/eventsig"
	"github.com/scs-platform/shared-events/eventing/feed"
	"github.com/scs-platform/shared-events/eventing/topology"
	"github.com/scs-platform/shared-events/runtime/telemetry"
)

//go:embed migrations
var migrations embed.FS

// Migrate creates or upgrades the inbox tables in db.
func Migrate(ctx context.Context, db *sqldb.DB) error {
	return db.Migrate(ctx, "inbox", migrations, "migrations")
}

// Handler applies one event to the replica inside tx. It runs at most once per
// event id and only for an aggregate version newer than the replica's. An error
// rolls the transaction back; the consumer retries and finally dead-letters.
type Handler func(ctx context.Context, tx *sql.Tx, ev cloudevent.Event) error

// Outcome is what applying an event did.
type Outcome string

// The outcomes of Apply.
const (
	Applied   Outcome = "applied"
	Duplicate Outcome = "duplicate" // the event id is in the inbox
	Stale     Outcome = "stale"     // the replica holds this aggregate version or a newer one
	// Ignored is an event of a type the consumer has no handler for: a type it
	// was bound to by an earlier release (say, v1 after moving to v2). It is
	// acknowledged and counted, not dead-lettered: nothing is wrong with it.
	Ignored Outcome = "ignored"
)

// Consumer reads one owner's events from its queue into the local database.
type Consumer struct {
	DB *sqldb.DB
	// Name is the consuming system ("chat"); the queue is "<Name>.from-<Owner>".
	Name     string
	Owner    string
	Handlers map[string]Handler
	// Keys are the owner's public keys, pinned in this system's configuration:
	// only events signed by one of them are applied, from the queue and from the
	// feed alike. Run refuses to start without them.
	Keys   *eventsig.Keys
	Broker *broker.Runner
	Logger *slog.Logger
	// Prefetch is the broker's window of unacknowledged deliveries (default 200).
	Prefetch int
	// Attempts is how often a failing handler runs before its event is
	// dead-lettered (default 5); Backoff is the first pause between attempts
	// (default 100 ms), doubled each time.
	Attempts int
	Backoff  time.Duration
	// DeliveryLimit is the queue's backstop (default topology.DefaultDeliveryLimit).
	DeliveryLimit int
	// BatchSize caps the deliveries applied in one transaction (default 64).
	BatchSize int
	// Feed, if set, is where an empty replica catches up before consuming the queue.
	Feed *feed.Client

	initOnce sync.Once
	queue    string
	m        metrics
	// returns receives dead letters the broker could not route (one session at a time).
	returns chan amqp.Return
}

// Queue is the consumer's queue declaration.
func (c *Consumer) Queue() topology.ConsumerQueue {
	types := make([]string, 0, len(c.Handlers))
	for t := range c.Handlers {
		types = append(types, t)
	}
	sort.Strings(types)
	return topology.ConsumerQueue{Consumer: c.Name, Owner: c.Owner, Types: types, DeliveryLimit: c.DeliveryLimit}
}

func (c *Consumer) init() {
	c.initOnce.Do(func() {
		if c.Prefetch <= 0 {
			c.Prefetch = 200
		}
		if c.Attempts <= 0 {
			c.Attempts = 5
		}
		if c.Backoff <= 0 {
			c.Backoff = 100 * time.Millisecond
		}
		if c.BatchSize <= 0 {
			c.BatchSize = 64
		}
		if c.Logger == nil {
			c.Logger = slog.New(slog.DiscardHandler)
		}
		c.queue = c.Queue().Name()
		c.m = newMetrics(c.queue)
	})
}

// Describe implements prometheus.Collector.
func (c *Consumer) Describe(ch chan<- *prometheus.Desc) { c.init(); c.m.describe(ch) }

// Collect implements prometheus.Collector.
func (c *Consumer) Collect(ch chan<- prometheus.Metric) { c.init(); c.m.collect(ch) }

// Admit decides whether a received event may be applied at all: it must be
// signed by one of the owner's pinned keys and, for a type with a handler, keep
// every rule of the owner's published contract (field formats, lengths, enums,
// the subject naming the aggregate in the data). A refused event is
// dead-lettered at once with the reason: retrying cannot make it right, and
// nothing of it may reach a handler.
func (c *Consumer) Admit(ev cloudevent.Event) (kind string, err error) {
	if err := c.Keys.Verify(ev); err != nil {
		return deadLetterSignature, err
	}
	if _, ok := c.Handlers[ev.Type]; !ok {
		return "", nil
	}
	if _, registered := contracts.Lookup(ev.Type); registered {
		if _, err := contracts.DecodeEvent(ev); err != nil {
			return deadLetterContract, err
		}
	}
	return "", nil
}

// Apply applies one event in its own transaction. It trusts ev: Run admits
// what it receives first (see Admit).
func (c *Consumer) Apply(ctx context.Context, ev cloudevent.Event) (Outcome, error) {
	c.init()
	var out Outcome
	err := c.DB.InTx(ctx, func(tx *sql.Tx) error {
		st, err := prepare(ctx, tx)
		if err != nil {
			return err
		}
		defer st.close()
		out, err = c.applyInTx(ctx, tx, st, ev)
		return err
	})
	if err != nil {
		return "", err
	}
	c.observe(ev, out)
	return out, nil
}

// applyBatch applies events in one transaction; any error rolls back all of them.
func (c *Consumer) applyBatch(ctx context.Context, events []cloudevent.Event) ([]Outcome, error) {
	outs := make([]Outcome, len(events))
	err := c.DB.InTx(ctx, func(tx *sql.Tx) error {
		st, err := prepare(ctx, tx)
		if err != nil {
			return err
		}
		defer st.close()
		for i, ev := range events {
			if outs[i], err = c.applyInTx(ctx, tx, st, ev); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for i, ev := range events {
		c.observe(ev, outs[i])
	}
	return outs, nil
}

func (c *Consumer) observe(ev cloudevent.Event, out Outcome) {
	c.m.outcomes.WithLabelValues(string(out)).Inc()
	if out == Applied {
		c.m.lag.Observe(max(0, time.Since(ev.Time).Seconds()))
	}
}

// HandlerError is an error of the handler itself, as opposed to one of the
// database: the former is retried and then dead-lettered, the latter is retried
// until the database takes the batch (dead-lettering everything while a database
// is down would be wrong).
type HandlerError struct {
	Type string
	Err  error
}

func (e *HandlerError) Error() string { return fmt.Sprintf("handler for %s: %v", e.Type, e.Err) }
func (e *HandlerError) Unwrap() error { return e.Err }

// statements are the consumer's own statements, prepared once per transaction:
// the SQLite driver parses a statement anew on every ExecContext, and with one
// parse per statement and event, parsing took a third of the consumer's CPU.
type statements struct {
	inbox, version *sql.Stmt
}

func prepare(ctx context.Context, tx *sql.Tx) (statements, error) {
	var st statements
	var err error
	if st.inbox, err = tx.PrepareContext(ctx, `INSERT INTO inbox (event_id, queue, processed_at_us) VALUES ($1, $2, $3) ON CONFLICT (event_id) DO NOTHING`); err != nil {
		return st, fmt.Errorf("consumer: prepare inbox: %w", err)
	}
	// The upsert only raises the version; no row changes when the stored one is as
	// new or newer, and that is how an out-of-order event is recognised.
	if st.version, err = tx.PrepareContext(ctx, `INSERT INTO aggregate_versions (aggregate, subject, version) VALUES ($1, $2, $3)
		ON CONFLICT (aggregate, subject) DO UPDATE SET version = excluded.version
		WHERE aggregate_versions.version < excluded.version`); err != nil {
		st.inbox.Close()
		return st, fmt.Errorf("consumer: prepare aggregate version: %w", err)
	}
	return st, nil
}

func (st statements) close() {
	st.inbox.Close()
	st.version.Close()
}

func (c *Consumer) applyInTx(ctx context.Context, tx *sql.Tx, st statements, ev cloudevent.Event) (out Outcome, err error) {
	handler, ok := c.Handlers[ev.Type]
	if !ok {
		return Ignored, nil
	}
	if ev.TraceParent != "" {
		var span trace.Span
		ctx, span = c.startSpan(ctx, ev)
		defer func() {
			if err != nil {
				span.RecordError(err)
				span.SetStatus(codes.Error, "not applied")
			} else {
				span.SetAttributes(attribute.String("scs.consumer.outcome", string(out)))
			}
			span.End()
		}()
	}
	res, err := st.inbox.ExecContext(ctx, ev.ID, c.queue, time.Now().UnixMicro())
	if err != nil {
		return "", fmt.Errorf("consumer: inbox: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return "", fmt.Errorf("consumer: inbox: %w", err)
	} else if n == 0 {
		return Duplicate, nil
	}
	res, err = st.version.ExecContext(ctx, ev.Aggregate(), ev.Subject, ev.AggregateVersion)
	if err != nil {
		return "", fmt.Errorf("consumer: aggregate version: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return "", fmt.Errorf("consumer: aggregate version: %w", err)
	} else if n == 0 {
		return Stale, nil
	}
	if err := handler(ctx, tx, ev); err != nil {
		return "", &HandlerError{Type: ev.Type, Err: err}
	}
	return Applied, nil
}

// tracerName names the instrumentation of the consumer's spans.
const tracerName = "github.com/scs-platform/shared-events/eventing/consumer"

// startSpan starts the span of applying ev, a child of the span that ev's
// traceparent names: the relay's publish, or the request that caused ev when it
// came from the feed. So one trace runs from the owner's request to every
// replica, and the handler's log lines carry its trace id. An event without a
// traceparent (one of a background job) gets no span.
func (c *Consumer) startSpan(ctx context.Context, ev cloudevent.Event) (context.Context, trace.Span) {
	return otel.Tracer(tracerName).Start(telemetry.ContextWithTraceParent(ctx, ev.TraceParent), "process "+c.queue,
		trace.WithSpanKind(trace.SpanKindConsumer),
		trace.WithAttributes(
			semconv.MessagingSystemRabbitMQ,
			semconv.MessagingOperationTypeProcess,
			semconv.MessagingOperationName("process"),
			semconv.MessagingDestinationName(topology.Exchange(c.Owner)),
			semconv.MessagingDestinationSubscriptionName(c.queue),
			semconv.MessagingMessageID(ev.ID),
			semconv.CloudEventsEventType(ev.Type),
		))
}

// Bootstrapped reports whether the replica of c.Owner has caught up from the feed once.
func (c *Consumer) Bootstrapped(ctx context.Context) (bool, error) {
	var n int
	if err := c.DB.QueryRowContext(ctx, `SELECT count(*) FROM replication_state WHERE owner = $1`, c.Owner).Scan(&n); err != nil {
		return false, fmt.Errorf("consumer: replication state: %w", err)
	}
	return n > 0, nil
}
