package main

import (
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/scs-platform/shared-events/contracts/cloudevent"
	"github.com/scs-platform/shared-events/database/sqldb"
	"github.com/scs-platform/shared-events/eventing/broker"
	"github.com/scs-platform/shared-events/eventing/consumer"
	"github.com/scs-platform/shared-events/eventing/eventsig"
	"github.com/scs-platform/shared-events/eventing/outbox"
	"github.com/scs-platform/shared-events/eventing/topology"
)

//go:embed migrations
var migrations embed.FS

// benchOurs measures the platform's path: an owner commits events into its
// outbox on SQLite, one event per transaction as a request handler does,
// outbox.Relay publishes them, and consumer.Consumer applies them to a replica
// table in a second SQLite file, with its inbox.
func benchOurs(ctx context.Context, cfg config, n names, c clock, logger *slog.Logger) (scenarioResult, error) {
	dir, err := os.MkdirTemp("", "bench-replication-")
	if err != nil {
		return scenarioResult{}, fmt.Errorf("ours: %w", err)
	}
	defer os.RemoveAll(dir)
	ownerDB, err := sqldb.Open(ctx, filepath.Join(dir, "owner.db"))
	if err != nil {
		return scenarioResult{}, err
	}
	defer ownerDB.Close()
	replicaDB, err := sqldb.Open(ctx, filepath.Join(dir, "replica.db"))
	if err != nil {
		return scenarioResult{}, err
	}
	defer replicaDB.Close()

	// Signed as stored and verified as received, as in the systems: the figures
	// include what the signatures cost (measured apart in signatureCost).
	ob := outbox.New(ownerDB, eventsig.DevelopmentSigner(n.owner))
	if err := ob.Migrate(ctx); err != nil {
		return scenarioResult{}, err
	}
	if err := consumer.Migrate(ctx, replicaDB); err != nil {
		return scenarioResult{}, err
	}
	if err := replicaDB.Migrate(ctx, "bench", migrations, "migrations"); err != nil {
		return scenarioResult{}, err
	}

	tr := newTracker(c)
	rep := &replica{clock: c, tracker: tr}
	replicaDB.OnCommit(rep.committed)
	cons := &consumer.Consumer{
		DB:       replicaDB,
		Name:     n.replicaConsumer,
		Owner:    n.owner,
		Handlers: map[string]consumer.Handler{n.oursType(): rep.apply},
		Keys:     eventsig.DevelopmentKeys(n.owner),
		Broker:   &broker.Runner{URL: cfg.AMQPURL, Name: "bench consumer", Logger: logger},
		Logger:   logger,
		Prefetch: cfg.Prefetch,
	}
	// The relay may publish before the consumer's first session has declared its
	// queue, and the exchange drops what no queue is bound to: declare it now.
	if err := declare(ctx, cfg.AMQPURL, cons); err != nil {
		return scenarioResult{}, err
	}
	relay := &outbox.Relay{
		Outbox: ob,
		Owner:  n.owner,
		Broker: &broker.Runner{URL: cfg.AMQPURL, Name: "bench relay", Logger: logger},
		Logger: logger,
		Window: cfg.Window,
	}

	runCtx, stop := context.WithCancel(ctx)
	errc := make(chan error, 2)
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := relay.Run(runCtx); err != nil {
			errc <- fmt.Errorf("ours: relay: %w", err)
		}
	})
	wg.Go(func() {
		if err := cons.Run(runCtx); err != nil {
			errc <- fmt.Errorf("ours: consumer: %w", err)
		}
	})
	defer func() {
		stop()
		done := make(chan struct{})
		go func() { wg.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			logger.Warn("the relay or the consumer did not stop within 15 s; going on without them")
		}
	}()

	prod := &producer{db: ownerDB, outbox: ob, source: n.source(), typ: n.oursType(), clock: c}
	p := pipeline{
		clock:   c,
		tracker: tr,
		errc:    errc,
		send:    prod.commit,
		flush:   func(context.Context) error { return nil },
		timeout: cfg.PhaseTimeout,
	}
	return measure(ctx, cfg, p, phases{batchSize: cfg.BatchSize, cpuProfile: cfg.CPUProfile})
}

// declare declares the consumer's queue on a connection of its own.
func declare(ctx context.Context, amqpURL string, cons *consumer.Consumer) error {
	conn, err := broker.Dial(ctx, amqpURL, "bench setup")
	if err != nil {
		return err
	}
	defer closeConn(conn)
	ch, err := conn.Channel()
	if err != nil {
		return fmt.Errorf("ours: open channel: %w", err)
	}
	// The benchmark plays the owner too, whose relay declares the exchange
	// the consumer's queue binds to.
	if err := topology.DeclareExchange(ch, cons.Owner); err != nil {
		return fmt.Errorf("ours: %w", err)
	}
	if err := cons.Queue().Declare(ch); err != nil {
		return fmt.Errorf("ours: %w", err)
	}
	return nil
}

// producer plays the owning system: each send is one request's transaction.
type producer struct {
	db     *sqldb.DB
	outbox *outbox.Outbox
	source string
	typ    string
	clock  clock
	next   int
}

// commit appends k events in one transaction. Each event's data carries the
// clock time taken before it was built, so its lag includes the owner's commit.
func (p *producer) commit(ctx context.Context, k int) error {
	sentAt := p.clock.now()
	events := make([]cloudevent.Event, k)
	for i := range events {
		ev, err := cloudevent.New(p.source, p.typ, subject(p.next), version(p.next), newItem(p.next, sentAt))
		if err != nil {
			return fmt.Errorf("ours: %w", err)
		}
		events[i] = ev
		p.next++
	}
	return p.db.InTx(ctx, func(tx *sql.Tx) error { return p.outbox.Append(ctx, tx, events...) })
}

// replica is the consuming system's handler and the benchmark's stopwatch.
type replica struct {
	clock   clock
	tracker *tracker

	mu      sync.Mutex
	applied []int64
}

// apply upserts the item, as a real replica's handler would.
func (r *replica) apply(ctx context.Context, tx *sql.Tx, ev cloudevent.Event) error {
	var it item
	if err := json.Unmarshal(ev.Data, &it); err != nil {
		return fmt.Errorf("decode item: %w", err)
	}
	if it.SentAt == 0 {
		return errors.New("item without sent_at_ns")
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO bench_items (id, version, name, email) VALUES ($1, $2, $3, $4)
		ON CONFLICT (id) DO UPDATE SET version = excluded.version, name = excluded.name, email = excluded.email`,
		ev.Subject, ev.AggregateVersion, it.Name, it.Email); err != nil {
		return fmt.Errorf("upsert item: %w", err)
	}
	r.mu.Lock()
	r.applied = append(r.applied, it.SentAt)
	r.mu.Unlock()
	return nil
}

// committed runs after every commit in the replica's database (sqldb.DB.OnCommit),
// so an event counts as applied only once its transaction is durable. The
// consumer is the only writer there during the run, so what apply collected is
// exactly what this commit contained.
func (r *replica) committed() {
	at := r.clock.now()
	r.mu.Lock()
	applied := r.applied
	r.applied = nil
	r.mu.Unlock()
	if len(applied) > 0 {
		r.tracker.arrived(at, applied...)
	}
}

// item is the data of every benchmark event: an id, the send time, and two
// fields of the size a user's name and e-mail address have.
type item struct {
	N      int    `json:"n"`
	SentAt int64  `json:"sent_at_ns"`
	Name   string `json:"name"`
	Email  string `json:"email"`
}

func newItem(n int, sentAt int64) item {
	return item{N: n, SentAt: sentAt, Name: fmt.Sprintf("Benchmark User %07d", n), Email: fmt.Sprintf("user%07d@bench.example", n)}
}

// replicaRows is the number of distinct aggregates the events update, so that
// most applies update a row rather than insert one.
const replicaRows = 1000

func subject(n int) string { return fmt.Sprintf("item-%d", n%replicaRows) }

// version rises by one each time an aggregate is updated again, so that no
// event is stale.
func version(n int) int64 { return int64(n/replicaRows) + 1 }
