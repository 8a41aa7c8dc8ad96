package deadletter_test

import (
	"crypto/rand"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/scs-platform/shared-events/eventing/consumer"
	"github.com/scs-platform/shared-events/eventing/deadletter"
	"github.com/scs-platform/shared-events/eventing/topology"
	"github.com/scs-platform/shared-events/testkit/servicetest"
)

const eventType = "things.thing.changed.v1"

// fixture is one owner with consumer queues (and their dead-letter queues) on the
// real broker, in the test's own virtual host.
type fixture struct {
	t      *testing.T
	conn   *amqp.Connection
	ch     *amqp.Channel
	owner  string
	queues []topology.ConsumerQueue
}

// newFixture declares one consumer queue per delivery limit (0: the default),
// each bound to eventType.
func newFixture(t *testing.T, deliveryLimits ...int) *fixture {
	t.Helper()
	conn := servicetest.AMQP(t)
	names := make([]string, len(deliveryLimits))
	for i := range names {
		names[i] = "dl" + strings.ToLower(rand.Text()[:8])
	}
	f := &fixture{t: t, conn: conn, owner: servicetest.Owner(t)}
	ch, err := conn.Channel()
	if err != nil {
		t.Fatalf("open channel: %v", err)
	}
	t.Cleanup(func() { ch.Close() })
	if err := ch.Confirm(false); err != nil {
		t.Fatalf("confirm mode: %v", err)
	}
	f.ch = ch
	for i, name := range names {
		q := topology.ConsumerQueue{Consumer: name, Owner: f.owner, Types: []string{eventType}, DeliveryLimit: deliveryLimits[i]}
		if err := q.Declare(ch); err != nil {
			t.Fatalf("declare: %v", err)
		}
		f.queues = append(f.queues, q)
	}
	return f
}

// sent is a dead letter as the test put it into the dead-letter queue.
type sent struct {
	id, reason string
	attempts   int
	failedAt   time.Time
	body       string
}

// deadLetter puts a dead letter into q's dead-letter queue the way the consumer
// does: through the consumer's dead-letter exchange, with the x-scs-* headers.
func (f *fixture) deadLetter(q topology.ConsumerQueue, reason string, attempts int) sent {
	f.t.Helper()
	s := sent{
		id:       "01900000-0000-7000-8000-" + strings.ToLower(rand.Text()[:12]),
		reason:   reason,
		attempts: attempts,
		failedAt: time.Now().UTC().Truncate(time.Millisecond),
	}
	s.body = fmt.Sprintf(`{"specversion":"1.0","id":%q,"type":%q}`, s.id, eventType)
	f.publish(topology.DeadLetterExchange(q.Consumer), topology.DeadLetterQueue(q.Name()), amqp.Publishing{
		Headers: amqp.Table{
			consumer.HeaderReason:   reason,
			consumer.HeaderAttempts: fmt.Sprint(attempts),
			consumer.HeaderFailedAt: s.failedAt.Format(time.RFC3339Nano),
			consumer.HeaderQueue:    q.Name(),
			"x-scs-publisher":       "users-1",
			"traceparent":           "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
		},
		ContentType:   "application/cloudevents+json",
		DeliveryMode:  amqp.Persistent,
		MessageId:     s.id,
		Type:          eventType,
		CorrelationId: "corr-" + s.id,
		AppId:         "scs-users",
		Timestamp:     s.failedAt.Truncate(time.Second),
		Body:          []byte(s.body),
	})
	return s
}

func (f *fixture) publish(exchange, key string, msg amqp.Publishing) {
	f.t.Helper()
	dc, err := f.ch.PublishWithDeferredConfirmWithContext(f.t.Context(), exchange, key, true, false, msg)
	if err != nil {
		f.t.Fatalf("publish to %q with key %s: %v", exchange, key, err)
	}
	if ok, err := dc.WaitContext(f.t.Context()); err != nil || !ok {
		f.t.Fatalf("publish to %q with key %s: no confirm (%v)", exchange, key, err)
	}
}

// count is how many messages queue holds ready for delivery.
func (f *fixture) count(queue string) int {
	f.t.Helper()
	q, err := f.ch.QueueDeclarePassive(queue, true, false, false, false, nil)
	if err != nil {
		f.t.Fatalf("inspect %s: %v", queue, err)
	}
	return q.Messages
}

// waitCount waits until queue holds n ready messages. Letters that List or
// Replay handed back return to their queue asynchronously.
func (f *fixture) waitCount(queue string, n int) {
	f.t.Helper()
	servicetest.Eventually(f.t, 10*time.Second, fmt.Sprintf("%d messages in %s", n, queue), func() bool {
		return f.count(queue) == n
	})
}

// take removes n messages from queue and returns them in order.
func (f *fixture) take(queue string, n int) []amqp.Delivery {
	f.t.Helper()
	var got []amqp.Delivery
	servicetest.Eventually(f.t, 10*time.Second, fmt.Sprintf("%d messages from %s", n, queue), func() bool {
		d, ok, err := f.ch.Get(queue, true)
		if err != nil {
			f.t.Fatalf("get from %s: %v", queue, err)
		}
		if ok {
			got = append(got, d)
		}
		return len(got) == n
	})
	return got
}

func ids(letters []deadletter.Letter) []string {
	var ids []string
	for _, l := range letters {
		ids = append(ids, l.MessageID)
	}
	return ids
}

func TestListLeavesTheLettersInTheQueue(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 0)
	q := f.queues[0]
	dlq := topology.DeadLetterQueue(q.Name())
	want := []sent{
		f.deadLetter(q, "handler: insert thing: constraint violated", 5),
		f.deadLetter(q, "undecodable: cloudevent: missing id", 1),
		f.deadLetter(q, "handler: no handler for "+eventType, 1),
	}
	f.waitCount(dlq, 3)

	first, err := deadletter.List(t.Context(), f.conn, q.Name(), 10)
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	if len(first) != len(want) {
		t.Fatalf("List returned %d letters, want %d", len(first), len(want))
	}
	for i, l := range first {
		w := want[i]
		if l.MessageID != w.id {
			t.Errorf("letter %d: MessageID = %q, want %q", i, l.MessageID, w.id)
		}
		if l.Type != eventType {
			t.Errorf("letter %d: Type = %q, want %q", i, l.Type, eventType)
		}
		if l.Reason != w.reason {
			t.Errorf("letter %d: Reason = %q, want %q", i, l.Reason, w.reason)
		}
		if l.Attempts != w.attempts {
			t.Errorf("letter %d: Attempts = %d, want %d", i, l.Attempts, w.attempts)
		}
		if !l.FailedAt.Equal(w.failedAt) {
			t.Errorf("letter %d: FailedAt = %v, want %v", i, l.FailedAt, w.failedAt)
		}
		if l.Queue != q.Name() {
			t.Errorf("letter %d: Queue = %q, want %q", i, l.Queue, q.Name())
		}
		if string(l.Body) != w.body {
			t.Errorf("letter %d: Body = %s, want %s", i, l.Body, w.body)
		}
		if l.Deaths != 0 {
			t.Errorf("letter %d: Deaths = %d, want 0 for a letter the consumer dead-lettered", i, l.Deaths)
		}
		if got := l.Headers["x-scs-publisher"]; got != "users-1" {
			t.Errorf("letter %d: header x-scs-publisher = %v, want users-1", i, got)
		}
	}

	f.waitCount(dlq, 3)
	second, err := deadletter.List(t.Context(), f.conn, q.Name(), 10)
	if err != nil {
		t.Fatalf("second List: %v", err)
	}
	if !slices.Equal(ids(second), ids(first)) {
		t.Errorf("second List = %v, want the same letters in the same order as the first: %v", ids(second), ids(first))
	}
	for i := range second {
		// The dead-letter queue is a classic queue so that looking does not count
		// towards a delivery limit.
		if second[i].DeliveryCount != first[i].DeliveryCount {
			t.Errorf("letter %d: DeliveryCount %d after %d; a List must not count as a delivery", i, second[i].DeliveryCount, first[i].DeliveryCount)
		}
	}

	f.waitCount(dlq, 3)
	two, err := deadletter.List(t.Context(), f.conn, q.Name(), 2)
	if err != nil {
		t.Fatalf("List with max 2: %v", err)
	}
	if !slices.Equal(ids(two), ids(first)[:2]) {
		t.Errorf("List with max 2 = %v, want %v", ids(two), ids(first)[:2])
	}
	f.waitCount(dlq, 3)
	if n := f.count(q.Name()); n != 0 {
		t.Errorf("the consumer queue holds %d messages after listing, want 0", n)
	}
}

func TestListAndReplayOfAMissingQueue(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 0)
	missing := topology.Queue("nobody", f.owner)
	if _, err := deadletter.List(t.Context(), f.conn, missing, 10); err == nil || !strings.Contains(err.Error(), "there is no queue "+topology.DeadLetterQueue(missing)) {
		t.Errorf("List of a queue that does not exist: err = %v, want one that names the missing queue", err)
	}
	if _, err := deadletter.Replay(t.Context(), f.conn, missing, 10); err == nil || !strings.Contains(err.Error(), "there is no queue") {
		t.Errorf("Replay of a queue that does not exist: err = %v, want one that names the missing queue", err)
	}
	for _, max := range []int{0, -1} {
		if _, err := deadletter.List(t.Context(), f.conn, f.queues[0].Name(), max); err == nil {
			t.Errorf("List with max %d: no error", max)
		}
		if _, err := deadletter.Replay(t.Context(), f.conn, f.queues[0].Name(), max); err == nil {
			t.Errorf("Replay with max %d: no error", max)
		}
	}
}

func TestReplayMovesLettersBackToTheirQueueOnly(t *testing.T) {
	t.Parallel()
	// Two consumers of the same owner, both bound to eventType: a replay must
	// reach only the one that dead-lettered the message.
	f := newFixture(t, 0, 0)
	q, other := f.queues[0], f.queues[1]
	dlq := topology.DeadLetterQueue(q.Name())
	want := []sent{
		f.deadLetter(q, "handler: boom", 5),
		f.deadLetter(q, "handler: boom", 5),
		f.deadLetter(q, "undecodable: bad json", 1),
	}
	f.waitCount(dlq, 3)

	n, err := deadletter.Replay(t.Context(), f.conn, q.Name(), 2)
	if err != nil {
		t.Fatalf("Replay: %v", err)
	}
	if n != 2 {
		t.Fatalf("Replay with max 2 moved %d, want 2", n)
	}
	f.waitCount(q.Name(), 2)
	f.waitCount(dlq, 1)
	// The broker confirmed every copy, so a copy routed to the other queue would
	// already be there.
	if c := f.count(other.Name()); c != 0 {
		t.Errorf("the other consumer's queue holds %d messages, want 0", c)
	}

	n, err = deadletter.Replay(t.Context(), f.conn, q.Name(), 10)
	if err != nil {
		t.Fatalf("second Replay: %v", err)
	}
	if n != 1 {
		t.Errorf("second Replay moved %d, want the 1 left", n)
	}
	f.waitCount(dlq, 0)
	if n, err := deadletter.Replay(t.Context(), f.conn, q.Name(), 10); err != nil || n != 0 {
		t.Errorf("Replay of an empty dead-letter queue = %d, %v; want 0, nil", n, err)
	}

	got := f.take(q.Name(), 3)
	for i, d := range got {
		w := want[i]
		if d.MessageId != w.id || string(d.Body) != w.body {
			t.Errorf("message %d: id %q body %s, want id %q body %s", i, d.MessageId, d.Body, w.id, w.body)
		}
		if d.Type != eventType || d.ContentType != "application/cloudevents+json" || d.CorrelationId != "corr-"+w.id ||
			d.AppId != "scs-users" || !d.Timestamp.Equal(w.failedAt.Truncate(time.Second)) {
			t.Errorf("message %d: properties type=%q content-type=%q correlation-id=%q app-id=%q timestamp=%v, want those of the dead letter",
				i, d.Type, d.ContentType, d.CorrelationId, d.AppId, d.Timestamp)
		}
		if d.DeliveryMode != amqp.Persistent {
			t.Errorf("message %d: delivery mode %d, want persistent", i, d.DeliveryMode)
		}
		for _, h := range []string{consumer.HeaderReason, consumer.HeaderAttempts, consumer.HeaderFailedAt, consumer.HeaderQueue} {
			if v, ok := d.Headers[h]; ok {
				t.Errorf("message %d: header %s = %v is still there", i, h, v)
			}
		}
		for _, h := range []string{"x-scs-publisher", "traceparent"} {
			if _, ok := d.Headers[h]; !ok {
				t.Errorf("message %d: the original header %s is gone", i, h)
			}
		}
		assertReplayedAt(t, d)
	}
}

func assertReplayedAt(t *testing.T, d amqp.Delivery) {
	t.Helper()
	s, ok := d.Headers[deadletter.HeaderReplayedAt].(string)
	if !ok {
		t.Errorf("message %s: header %s = %#v, want a time", d.MessageId, deadletter.HeaderReplayedAt, d.Headers[deadletter.HeaderReplayedAt])
		return
	}
	at, err := time.Parse(time.RFC3339Nano, s)
	if err != nil || time.Since(at) > time.Minute || time.Since(at) < 0 {
		t.Errorf("message %s: header %s = %q, want the time of the replay", d.MessageId, deadletter.HeaderReplayedAt, s)
	}
}

func TestReplayDoesNotLoopOnLettersThatFailAgain(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 0)
	q := f.queues[0]
	dlq := topology.DeadLetterQueue(q.Name())
	for range 5 {
		f.deadLetter(q, "handler: still broken", 5)
	}
	f.waitCount(dlq, 5)

	// A consumer that is still broken: it dead-letters everything it gets, as
	// fast as it can, copying the headers as package consumer does.
	ch, err := f.conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	if err := ch.Confirm(false); err != nil {
		t.Fatal(err)
	}
	deliveries, err := ch.Consume(q.Name(), "", false, false, false, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		for d := range deliveries {
			headers := amqp.Table{}
			for k, v := range d.Headers {
				headers[k] = v
			}
			headers[consumer.HeaderReason] = "handler: still broken"
			dc, err := ch.PublishWithDeferredConfirm(topology.DeadLetterExchange(q.Consumer), dlq, true, false, amqp.Publishing{
				Headers: headers, MessageId: d.MessageId, Type: d.Type, DeliveryMode: amqp.Persistent, Body: d.Body,
			})
			if err != nil {
				return
			}
			dc.Wait()
			_ = d.Ack(false)
		}
	})
	t.Cleanup(wg.Wait)
	t.Cleanup(func() { ch.Close() })

	n, err := deadletter.Replay(t.Context(), f.conn, q.Name(), 1000)
	if err != nil {
		t.Fatalf("Replay: %v", err)
	}
	if n != 5 {
		t.Errorf("Replay moved %d, want each of the 5 letters once", n)
	}
	f.waitCount(dlq, 5)
	letters, err := deadletter.List(t.Context(), f.conn, q.Name(), 10)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range letters {
		if _, ok := l.Headers[deadletter.HeaderReplayedAt]; !ok {
			t.Errorf("letter %s came back without %s", l.MessageID, deadletter.HeaderReplayedAt)
		}
	}
}

func TestBrokerDeadLetters(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 1)
	q := f.queues[0]
	dlq := topology.DeadLetterQueue(q.Name())
	f.publish("", q.Name(), amqp.Publishing{
		MessageId:    "crasher",
		Type:         eventType,
		DeliveryMode: amqp.Persistent,
		Headers:      amqp.Table{"x-scs-publisher": "users-1"},
		Body:         []byte(`{"id":"crasher"}`),
	})
	// The consumer process crashes on this message every time: the broker gives
	// up after the delivery limit and dead-letters it.
	start := time.Now().UTC().Truncate(time.Second)
	servicetest.Eventually(t, 10*time.Second, "the broker to dead-letter the message", func() bool {
		if d, ok, err := f.ch.Get(q.Name(), false); err != nil {
			t.Fatalf("get: %v", err)
		} else if ok {
			if err := d.Nack(false, true); err != nil {
				t.Fatalf("nack: %v", err)
			}
		}
		return f.count(dlq) == 1
	})

	letters, err := deadletter.List(t.Context(), f.conn, q.Name(), 10)
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	if len(letters) != 1 {
		t.Fatalf("List returned %d letters, want 1", len(letters))
	}
	l := letters[0]
	if l.MessageID != "crasher" || l.Type != eventType || string(l.Body) != `{"id":"crasher"}` {
		t.Errorf("letter = id %q type %q body %s, want the message published", l.MessageID, l.Type, l.Body)
	}
	if l.Reason != "delivery_limit" {
		t.Errorf("Reason = %q, want delivery_limit", l.Reason)
	}
	if l.Queue != q.Name() {
		t.Errorf("Queue = %q, want %q", l.Queue, q.Name())
	}
	if l.FailedAt.Before(start) || l.FailedAt.After(time.Now().Add(time.Minute)) {
		t.Errorf("FailedAt = %v, want the time the broker dead-lettered it (after %v)", l.FailedAt, start)
	}
	if l.Deaths != 1 || l.Attempts != 0 {
		t.Errorf("Deaths = %d, Attempts = %d; want 1 and 0", l.Deaths, l.Attempts)
	}

	f.waitCount(dlq, 1)
	if n, err := deadletter.Replay(t.Context(), f.conn, q.Name(), 10); err != nil || n != 1 {
		t.Fatalf("Replay = %d, %v; want 1, nil", n, err)
	}
	d := f.take(q.Name(), 1)[0]
	for h := range d.Headers {
		if h == "x-death" || strings.HasPrefix(h, "x-first-death-") || strings.HasPrefix(h, "x-last-death-") {
			t.Errorf("replayed message still has the broker's header %s", h)
		}
	}
	if d.Headers["x-scs-publisher"] != "users-1" {
		t.Errorf("replayed message lost its header x-scs-publisher: %v", d.Headers)
	}
	if d.Redelivered {
		t.Error("replayed message is marked redelivered, want a fresh delivery")
	}
	assertReplayedAt(t, d)
}
