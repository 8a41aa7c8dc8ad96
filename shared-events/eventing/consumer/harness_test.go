package consumer_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/scs-platform/shared-events/contracts/cloudevent"
	"github.com/scs-platform/shared-events/database/sqldb"
	"github.com/scs-platform/shared-events/eventing/broker"
	"github.com/scs-platform/shared-events/eventing/consumer"
	"github.com/scs-platform/shared-events/eventing/eventsig"
	"github.com/scs-platform/shared-events/eventing/outbox"
	"github.com/scs-platform/shared-events/eventing/topology"
	"github.com/scs-platform/shared-events/testkit/servicetest"
)

// world is one owner with its outbox and one consumer system with its replica,
// both on real databases and the real broker. Each world has its own owner name,
// so tests never see each other's events.
type world struct {
	t        *testing.T
	owner    string
	consumer string
	amqpURL  string
	src      *sqldb.DB
	outbox   *outbox.Outbox
	replica  *sqldb.DB
	// broken makes the replica's handler fail for the subject it holds.
	broken atomic.Value
	logger *slog.Logger
}

const consumerName = "replica"

func newWorld(t *testing.T, open func(testing.TB) *sqldb.DB) *world {
	t.Helper()
	w := &world{
		t:        t,
		amqpURL:  servicetest.AMQPURL(t),
		owner:    servicetest.Owner(t),
		consumer: consumerName,
		src:      open(t),
		replica:  open(t),
		logger:   testLogger(t),
	}
	w.broken.Store("")
	ctx := context.Background()
	w.outbox = outbox.New(w.src, eventsig.DevelopmentSigner(w.owner))
	must(t, w.outbox.Migrate(ctx))
	_, err := w.src.ExecContext(ctx, `CREATE TABLE things (subject TEXT PRIMARY KEY, version BIGINT NOT NULL)`)
	must(t, err)
	must(t, consumer.Migrate(ctx, w.replica))
	_, err = w.replica.ExecContext(ctx, `CREATE TABLE things (subject TEXT PRIMARY KEY, version BIGINT NOT NULL);
		CREATE TABLE effects (event_id TEXT PRIMARY KEY)`)
	must(t, err)
	return w
}

func testLogger(t *testing.T) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func (w *world) eventType() string { return w.owner + ".thing.changed.v1" }

// event builds the event for version v of thing subject.
func (w *world) event(subject string, v int64) cloudevent.Event {
	ev, err := cloudevent.New("/scs-"+w.owner, w.eventType(), subject, v, map[string]any{"subject": subject, "version": v})
	must(w.t, err)
	return ev
}

// change bumps thing subject to its next version and appends the event, in one
// transaction, as an owner's handler would.
func (w *world) change(ctx context.Context, subject string) error {
	return w.src.InTx(ctx, func(tx *sql.Tx) error {
		var v int64
		err := tx.QueryRowContext(ctx, `INSERT INTO things (subject, version) VALUES ($1, 1)
			ON CONFLICT (subject) DO UPDATE SET version = things.version + 1 RETURNING version`, subject).Scan(&v)
		if err != nil {
			return err
		}
		return w.outbox.Append(ctx, tx, w.event(subject, v))
	})
}

// changeMany makes n changes spread over k subjects.
func (w *world) changeMany(n, k int) {
	w.t.Helper()
	for i := range n {
		must(w.t, w.change(context.Background(), fmt.Sprintf("thing-%d", i%k)))
	}
}

func (w *world) handler(ctx context.Context, tx *sql.Tx, ev cloudevent.Event) error {
	var data struct {
		Subject string `json:"subject"`
		Version int64  `json:"version"`
	}
	if err := json.Unmarshal(ev.Data, &data); err != nil {
		return err
	}
	if b := w.broken.Load().(string); b != "" && b == data.Subject {
		return errors.New("the replica cannot take " + b + " yet")
	}
	// The effects table has the event id as its key: a second application of one
	// event would fail here, so "exactly once in effect" is checked by the schema.
	if _, err := tx.ExecContext(ctx, `INSERT INTO effects (event_id) VALUES ($1)`, ev.ID); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO things (subject, version) VALUES ($1, $2)
		ON CONFLICT (subject) DO UPDATE SET version = excluded.version`, data.Subject, data.Version)
	return err
}

func (w *world) newRelay(instance string) *outbox.Relay {
	return &outbox.Relay{
		Outbox:   w.outbox,
		Owner:    w.owner,
		Broker:   &broker.Runner{URL: w.amqpURL, Name: w.owner + "-relay-" + instance, Logger: w.logger, MaxBackoff: 500 * time.Millisecond},
		Logger:   w.logger,
		Instance: instance,
	}
}

func (w *world) newConsumer() *consumer.Consumer {
	return &consumer.Consumer{
		DB:       w.replica,
		Name:     w.consumer,
		Owner:    w.owner,
		Handlers: map[string]consumer.Handler{w.eventType(): w.handler},
		Keys:     eventsig.DevelopmentKeys(w.owner),
		Broker:   &broker.Runner{URL: w.amqpURL, Name: w.owner + "-consumer", Logger: w.logger, MaxBackoff: 500 * time.Millisecond},
		Logger:   w.logger,
		Backoff:  10 * time.Millisecond,
	}
}

// start runs fn in the background until the test ends, and fails the test if fn
// returns an error.
func start(t *testing.T, fn func(context.Context) error) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := fn(ctx); err != nil && ctx.Err() == nil {
			t.Errorf("background worker: %v", err)
		}
	}()
	var once sync.Once
	stop = func() { once.Do(func() { cancel(); wg.Wait() }) }
	t.Cleanup(stop)
	return stop
}

// declare creates the consumer's queue so that it collects events before the
// consumer runs.
func (w *world) declare(c *consumer.Consumer) {
	conn := servicetest.AMQP(w.t)
	ch, err := conn.Channel()
	must(w.t, err)
	defer ch.Close()
	must(w.t, c.Queue().Declare(ch))
}

// things returns subject → version of a database's things table.
func things(t testing.TB, db *sqldb.DB) map[string]int64 {
	t.Helper()
	rows, err := db.Query(`SELECT subject, version FROM things`)
	must(t, err)
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var s string
		var v int64
		must(t, rows.Scan(&s, &v))
		out[s] = v
	}
	must(t, rows.Err())
	return out
}

func count(t testing.TB, db *sqldb.DB, query string, args ...any) int {
	t.Helper()
	var n int
	must(t, db.QueryRow(query, args...).Scan(&n))
	return n
}

// converged waits until the replica equals the source and every event of the
// source has had its one effect.
func (w *world) converged(timeout time.Duration) {
	w.t.Helper()
	servicetest.Eventually(w.t, timeout, "the replica to equal the source", func() bool {
		return equal(things(w.t, w.src), things(w.t, w.replica))
	})
	events := count(w.t, w.src, `SELECT count(*) FROM outbox`)
	if got := count(w.t, w.replica, `SELECT count(*) FROM effects`); got != events {
		w.t.Fatalf("replica has %d effects, source %d events", got, events)
	}
}

func equal(a, b map[string]int64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// publishRaw puts a message straight into the consumer's queue.
func (w *world) publishRaw(body []byte) {
	w.t.Helper()
	conn := servicetest.AMQP(w.t)
	ch, err := conn.Channel()
	must(w.t, err)
	defer ch.Close()
	must(w.t, ch.Confirm(false))
	dc, err := ch.PublishWithDeferredConfirm("", topology.Queue(w.consumer, w.owner), true, false,
		amqp.Publishing{DeliveryMode: amqp.Persistent, ContentType: cloudevent.ContentType, Body: body})
	must(w.t, err)
	if !dc.Wait() {
		w.t.Fatal("broker nacked a test message")
	}
}

// queueDepth is the number of ready messages in a queue.
func (w *world) queueDepth(name string) int {
	w.t.Helper()
	conn := servicetest.AMQP(w.t)
	ch, err := conn.Channel()
	must(w.t, err)
	defer ch.Close()
	q, err := ch.QueueDeclarePassive(name, true, false, false, false, nil)
	must(w.t, err)
	return q.Messages
}
