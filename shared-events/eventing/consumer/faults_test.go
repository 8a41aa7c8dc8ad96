package consumer_test

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/scs-platform/shared-events/database/sqldb"
	"github.com/scs-platform/shared-events/eventing/consumer"
	"github.com/scs-platform/shared-events/eventing/eventsig"
	"github.com/scs-platform/shared-events/eventing/outbox"
	"github.com/scs-platform/shared-events/eventing/topology"
	"github.com/scs-platform/shared-events/testkit/servicetest"
)

func TestPoisonMessageIsDeadLetteredAndReplayedAfterTheFix(t *testing.T) {
	t.Parallel()
	w := newWorld(t, servicetest.SQLite)
	c := w.newConsumer()
	w.declare(c)
	w.broken.Store("thing-poison")
	start(t, c.Run)
	start(t, w.newRelay("a").Run)

	must(t, w.change(context.Background(), "thing-poison"))
	w.publishRaw([]byte(`{"specversion":"1.0","id":"not-a-uuid"}`))
	w.changeMany(20, 4)

	dlq := topology.DeadLetterQueue(c.Queue().Name())
	servicetest.Eventually(t, 20*time.Second, "two dead letters and the rest applied", func() bool {
		return w.queueDepth(dlq) == 2 && len(things(t, w.replica)) == 4
	})
	reasons := deadLetterReasons(t, dlq)
	if !strings.Contains(reasons, "the replica cannot take thing-poison yet") {
		t.Errorf("dead letter reasons %q do not carry the handler's error", reasons)
	}
	if !strings.Contains(reasons, `undecodable: malformed event: attribute "source" is missing`) {
		t.Errorf("dead letter reasons %q do not say why the garbage could not be decoded", reasons)
	}

	// The fix: the handler accepts the subject now. Replaying the handler's dead
	// letter applies it; the garbage goes back to the dead-letter queue.
	w.broken.Store("")
	replay(t, dlq, c.Queue().Name())
	w.converged(20 * time.Second)
	servicetest.Eventually(t, 10*time.Second, "the garbage to be dead-lettered again", func() bool {
		return w.queueDepth(dlq) == 1
	})
}

// deadLetterReasons reads the reasons of every dead letter without removing any.
func deadLetterReasons(t *testing.T, dlq string) string {
	conn := servicetest.AMQP(t)
	ch, err := conn.Channel()
	must(t, err)
	defer ch.Close()
	var reasons []string
	for {
		d, ok, err := ch.Get(dlq, false)
		must(t, err)
		if !ok {
			break
		}
		reasons = append(reasons, fmt.Sprint(d.Headers[consumer.HeaderReason]))
	}
	return strings.Join(reasons, "\n")
}

// replay moves every dead letter back to the queue, as an operator would.
func replay(t *testing.T, dlq, queue string) {
	conn := servicetest.AMQP(t)
	ch, err := conn.Channel()
	must(t, err)
	defer ch.Close()
	must(t, ch.Confirm(false))
	for {
		d, ok, err := ch.Get(dlq, false)
		must(t, err)
		if !ok {
			return
		}
		dc, err := ch.PublishWithDeferredConfirm("", queue, true, false, amqp.Publishing{
			DeliveryMode: amqp.Persistent, ContentType: d.ContentType, Body: d.Body})
		must(t, err)
		if !dc.Wait() {
			t.Fatal("replay nacked")
		}
		must(t, d.Ack(false))
	}
}

// closeConnections makes the broker close every connection whose name contains
// name, as an operator's `rabbitmqctl close_connection` would.
func closeConnections(t *testing.T, name string) int {
	t.Helper()
	out, err := exec.Command("rabbitmqctl", "list_connections", "-q", "pid", "client_properties").CombinedOutput()
	if err != nil {
		servicetest.Unavailable(t, "rabbitmqctl", fmt.Errorf("%v: %s", err, out))
	}
	closed := 0
	for _, line := range strings.Split(string(out), "\n") {
		if !strings.Contains(line, name) {
			continue
		}
		pid, _, _ := strings.Cut(line, "\t")
		if out, err := exec.Command("rabbitmqctl", "close_connection", pid, "closed by the fault test").CombinedOutput(); err != nil {
			t.Logf("close %s: %v: %s", pid, err, out)
			continue
		}
		closed++
	}
	return closed
}

func TestRelayAndConsumerSurviveConnectionsClosedByTheBroker(t *testing.T) {
	t.Parallel()
	for _, b := range servicetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t, b.Open)
			c := w.newConsumer()
			w.declare(c)
			start(t, c.Run)
			start(t, w.newRelay("a").Run)

			ctx, cancel := context.WithCancel(context.Background())
			var wg sync.WaitGroup
			t.Cleanup(func() { cancel(); wg.Wait() })
			wg.Add(1)
			go func() {
				defer wg.Done()
				// Bounded, but far more than the faults need: it stops when they are done.
				for i := 0; ctx.Err() == nil && i < 50000; i++ {
					if err := w.change(ctx, fmt.Sprintf("thing-%d", i%50)); err != nil && ctx.Err() == nil {
						t.Errorf("change: %v", err)
						return
					}
				}
			}()
			applied := 0
			for range 3 {
				// Close both connections only after the stream has made progress since
				// the last fault, so that each fault hits a working pipeline.
				servicetest.Eventually(t, 20*time.Second, "progress, then both connections closed", func() bool {
					return count(t, w.replica, `SELECT count(*) FROM effects`) > applied+50 && closeConnections(t, w.owner) >= 2
				})
				applied = count(t, w.replica, `SELECT count(*) FROM effects`)
			}
			cancel()
			wg.Wait()
			w.converged(60 * time.Second)
		})
	}
}

func TestEventsCommittedBeforeACrashArePublishedOnTheNextStart(t *testing.T) {
	t.Parallel()
	for _, b := range servicetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t, b.Open)
			c := w.newConsumer()
			w.declare(c)
			start(t, c.Run)

			// The process committed these and died before its relay published them.
			w.changeMany(100, 10)
			if n := w.queueDepth(c.Queue().Name()); n != 0 {
				t.Fatalf("queue holds %d messages before any relay ran", n)
			}
			stop := start(t, w.newRelay("first").Run)
			w.converged(20 * time.Second)
			stop()

			// A crash between the broker's confirm and the mark: rows published but
			// still unsent. The next start publishes them again and the inbox
			// absorbs the duplicates.
			_, err := w.src.Exec(`UPDATE outbox SET sent_at_us = NULL WHERE seq > 50`)
			must(t, err)
			before := count(t, w.replica, `SELECT count(*) FROM inbox`)
			start(t, w.newRelay("second").Run)
			servicetest.Eventually(t, 20*time.Second, "the unsent rows to be published again", func() bool {
				return count(t, w.src, `SELECT count(*) FROM outbox WHERE sent_at_us IS NULL`) == 0
			})
			w.converged(20 * time.Second)
			if after := count(t, w.replica, `SELECT count(*) FROM inbox`); after != before {
				t.Errorf("inbox grew from %d to %d: a republished event was applied as new", before, after)
			}
		})
	}
}

func TestTwoRelaysOnOnePostgresNeverPublishTheSameRow(t *testing.T) {
	t.Parallel()
	w := newWorld(t, servicetest.Postgres)
	// A second pool on the same database stands for a second instance.
	otherDB, err := sqldb.Open(context.Background(), w.src.DSN())
	must(t, err)
	t.Cleanup(func() { otherDB.Close() })
	other := outbox.New(otherDB, eventsig.DevelopmentSigner(w.owner))

	conn := servicetest.AMQP(t)
	ch, err := conn.Channel()
	must(t, err)
	q := topology.ConsumerQueue{Consumer: consumerName, Owner: w.owner, Types: []string{w.eventType()}}
	must(t, q.Declare(ch))
	must(t, ch.Qos(500, 0, false))
	deliveries, err := ch.Consume(q.Name(), "", true, false, false, false, nil)
	must(t, err)

	// Check the lock often, so that the checks run (and must not disturb the
	// leader) while the test runs.
	relayA := w.newRelay("a")
	relayA.LeaderCheck = 50 * time.Millisecond
	stopA := start(t, relayA.Run)
	relayB := w.newRelay("b")
	relayB.LeaderCheck = 50 * time.Millisecond
	relayB.Outbox = other
	stopB := start(t, relayB.Run)

	seen := map[string]int{}
	publishers := map[string]int{}
	receive := func(n int) {
		deadline := time.After(30 * time.Second)
		for len(seen) < n {
			select {
			case d := <-deliveries:
				seen[d.MessageId]++
				publishers[fmt.Sprint(d.Headers["x-scs-publisher"])]++
			case <-deadline:
				t.Fatalf("received %d of %d events", len(seen), n)
			}
		}
	}
	w.changeMany(300, 7)
	receive(300)
	// A quiet spell long enough for several lock checks; the leader must still lead.
	time.Sleep(300 * time.Millisecond) // idles the relays on purpose; no result is awaited
	w.changeMany(50, 7)
	receive(350)
	if len(publishers) != 1 {
		t.Errorf("events came from %v: both relays published, or the leader stepped down while idle", publishers)
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("event %s published %d times while both relays ran", id, n)
		}
	}

	// The leader goes away; the other takes over and publishes what follows.
	if publishers["a"] > 0 {
		stopA()
	} else {
		stopB()
	}
	w.changeMany(100, 7)
	receive(450)
	servicetest.Eventually(t, 10*time.Second, "every row marked sent", func() bool {
		return count(t, w.src, `SELECT count(*) FROM outbox WHERE sent_at_us IS NULL`) == 0
	})
}

func TestADatabaseThatRefusesWritesDeadLettersNothing(t *testing.T) {
	t.Parallel()
	w := newWorld(t, servicetest.SQLite)
	// The replica's database refuses writes to the inbox while the switch is on,
	// as a database does while read-only or out of disk.
	_, err := w.replica.Exec(`CREATE TABLE switch (refuse INTEGER NOT NULL);
		INSERT INTO switch VALUES (1);
		CREATE TRIGGER refuse_inbox BEFORE INSERT ON inbox WHEN (SELECT refuse FROM switch) = 1
		BEGIN SELECT RAISE(ABORT, 'the disk is full'); END;`)
	must(t, err)
	c := w.newConsumer()
	// A low delivery limit: had the consumer given the deliveries back to the
	// broker at every failure, the broker would dead-letter them at once.
	c.DeliveryLimit = 2
	w.declare(c)
	start(t, c.Run)
	start(t, w.newRelay("a").Run)
	w.changeMany(40, 4)

	reg := prometheus.NewRegistry()
	reg.MustRegister(c)
	servicetest.Eventually(t, 20*time.Second, "several retries of the refused batch", func() bool {
		return metricValue(t, reg, "consumer_database_retries_total") >= 4
	})
	_, err = w.replica.Exec(`UPDATE switch SET refuse = 0`)
	must(t, err)
	w.converged(20 * time.Second)
	if n := w.queueDepth(topology.DeadLetterQueue(c.Queue().Name())); n != 0 {
		t.Errorf("%d events were dead-lettered while the database refused writes", n)
	}
}

func metricValue(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	families, err := reg.Gather()
	must(t, err)
	for _, f := range families {
		if f.GetName() == name && len(f.GetMetric()) > 0 {
			return f.GetMetric()[0].GetCounter().GetValue()
		}
	}
	return 0
}
