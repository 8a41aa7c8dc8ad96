package consumer

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/scs-platform/shared-events/contracts/cloudevent"
	"github.com/scs-platform/shared-events/eventing/topology"
	"github.com/scs-platform/shared-events/runtime/telemetry"
)

// Headers a dead letter carries besides the original message's.
const (
	HeaderReason   = "x-scs-reason"
	HeaderAttempts = "x-scs-attempts"
	HeaderFailedAt = "x-scs-failed-at"
	HeaderQueue    = "x-scs-queue"
)

// Run consumes until ctx ends, reconnecting after connection losses. An empty
// replica with a Feed catches up from the feed first (see bootstrap).
func (c *Consumer) Run(ctx context.Context) error {
	c.init()
	if c.Keys == nil {
		return fmt.Errorf("consumer: no keys of %s are pinned: refusing to apply events nobody vouches for", c.Owner)
	}
	if c.Keys.Owner() != c.Owner {
		return fmt.Errorf("consumer: the pinned keys are %s's, not %s's", c.Keys.Owner(), c.Owner)
	}
	if c.Feed != nil && c.Feed.Keys == nil {
		// The feed's pages are the owner's word too.
		c.Feed.Keys = c.Keys
	}
	return c.Broker.Run(ctx, c.session)
}

func (c *Consumer) session(ctx context.Context, conn *amqp.Connection) error {
	ch, err := conn.Channel()
	if err != nil {
		return fmt.Errorf("consumer: open channel: %w", err)
	}
	q := c.Queue()
	existed, err := queueExists(conn, q.Name())
	if err != nil {
		return err
	}
	// Declare before bootstrapping: from here on the queue collects every new event,
	// and everything older is in the feed, so nothing falls between the two.
	if err := q.Declare(ch); err != nil {
		return err
	}
	dl, err := conn.Channel()
	if err != nil {
		return fmt.Errorf("consumer: open dead-letter channel: %w", err)
	}
	if err := dl.Confirm(false); err != nil {
		return fmt.Errorf("consumer: confirm mode: %w", err)
	}
	// Dead letters are published mandatory: if the dead-letter queue is gone, the
	// broker returns the message (before confirming it) instead of dropping it.
	c.returns = dl.NotifyReturn(make(chan amqp.Return, 1))
	if c.Feed != nil {
		done, err := c.Bootstrapped(ctx)
		if err != nil {
			return err
		}
		// A queue that did not exist (deleted by an operator, a broker rebuilt
		// without its definitions) missed the events published meanwhile: catch up
		// again. The inbox makes the events already applied change nothing.
		if !done || !existed {
			if err := c.bootstrap(ctx, dl); err != nil {
				return err
			}
		}
	}
	if err := ch.Qos(c.Prefetch, 0, false); err != nil {
		return fmt.Errorf("consumer: qos: %w", err)
	}
	incoming, err := ch.ConsumeWithContext(ctx, q.Name(), "", false, false, false, false, nil)
	if err != nil {
		return fmt.Errorf("consumer: consume %s: %w", q.Name(), err)
	}
	// amqp091 hands deliveries over an unbuffered channel from a goroutine of its
	// own, so the non-blocking receives that fill a batch below nearly always find
	// it empty, however many deliveries are waiting (1.2 per batch, measured). The
	// pump moves them into a buffer while a batch is being applied; the buffer holds
	// the prefetch window, all the broker sends ahead, so the pump never blocks and
	// keeps draining after the session ends until the connection closes.
	deliveries := make(chan amqp.Delivery, c.Prefetch)
	go func() {
		defer close(deliveries)
		for d := range incoming {
			deliveries <- d
		}
	}()
	c.Logger.Info("consuming", "queue", q.Name(), "prefetch", c.Prefetch)
	for {
		var first amqp.Delivery
		var ok bool
		select {
		case <-ctx.Done():
			return ctx.Err()
		case first, ok = <-deliveries:
			if !ok {
				return errors.New("consumer: the broker closed the delivery channel")
			}
		}
		batch := []amqp.Delivery{first}
	fill:
		for len(batch) < c.BatchSize {
			select {
			case d, ok := <-deliveries:
				if !ok {
					break fill
				}
				batch = append(batch, d)
			default:
				break fill
			}
		}
		if err := c.handle(ctx, dl, batch); err != nil {
			return err
		}
	}
}

// sameTrace reports whether two W3C traceparents ("00-<trace id>-<span id>-<flags>")
// name the same trace.
func sameTrace(a, b string) bool {
	const from, to = 3, 35
	return len(a) > to && len(b) > to && a[from:to] == b[from:to]
}

// queueExists asks the broker whether queue exists. A passive declare of a missing
// queue closes its channel, hence a channel of its own.
func queueExists(conn *amqp.Connection, queue string) (bool, error) {
	ch, err := conn.Channel()
	if err != nil {
		return false, fmt.Errorf("consumer: open channel: %w", err)
	}
	_, err = ch.QueueDeclarePassive(queue, true, false, false, false, nil)
	var ae *amqp.Error
	if errors.As(err, &ae) && ae.Code == amqp.NotFound {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("consumer: inspect queue %s: %w", queue, err)
	}
	_ = ch.Close()
	return true, nil
}

// handle applies a batch of deliveries and acknowledges them together. Deliveries
// that cannot be decoded, and events whose handler keeps failing, are
// dead-lettered first; the ack comes only after the local commit and after the
// broker confirmed every dead letter.
//
// A failure of the local database (read-only during a failover, a full disk, a
// PostgreSQL deadlock between two instances) is retried in place, holding the
// deliveries, until it passes or the session ends. Ending the session instead
// would return the whole prefetch window to the queue, and RabbitMQ counts such
// returns towards the delivery limit: after a few minutes of a sick database the
// broker would dead-letter healthy events.
func (c *Consumer) handle(ctx context.Context, dl *amqp.Channel, batch []amqp.Delivery) error {
	var events []cloudevent.Event
	var carriers []amqp.Delivery
	for _, d := range batch {
		if d.Redelivered {
			c.m.redeliveries.Inc()
		}
		ev, err := cloudevent.Decode(d.Body)
		if err != nil {
			if err := c.deadLetter(ctx, dl, d, deadLetterUndecodable, err.Error(), 1); err != nil {
				return err
			}
			continue
		}
		if kind, err := c.Admit(ev); err != nil {
			c.Logger.WarnContext(ctx, "dead-lettering a refused event", "queue", c.queue, "type", ev.Type, "id", ev.ID, "kind", kind, "err", err)
			if err := c.deadLetter(ctx, dl, d, kind, err.Error(), 1); err != nil {
				return err
			}
			continue
		}
		// The header names the relay's publish span, in the trace of the span the
		// event's own traceparent names and below it: applying the event below the
		// publish shows the hop through the broker in the trace. The header is not
		// signed, so it is taken only within the trace the signed event names:
		// whoever can publish must not choose the trace (or its sampling) that the
		// handler and the events it appends run in.
		if tp, ok := d.Headers["traceparent"].(string); ok && telemetry.ValidTraceParent(tp) && sameTrace(tp, ev.TraceParent) {
			ev.TraceParent = tp
		}
		events = append(events, ev)
		carriers = append(carriers, d)
	}
	byAggregate(events, carriers)
	settled := make([]bool, len(events))
	pause := c.Backoff
	for {
		err := c.applyAll(ctx, dl, events, carriers, settled)
		if err == nil {
			break
		}
		var be *brokerError
		if errors.As(err, &be) || ctx.Err() != nil {
			return err
		}
		c.m.databaseRetries.Inc()
		c.Logger.Warn("the replica's database refused a batch; retrying it", "queue", c.queue, "events", len(events), "retry_in", pause, "err", err)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(pause):
		}
		pause = min(2*pause, 10*time.Second)
	}
	if err := batch[len(batch)-1].Ack(true); err != nil {
		return &brokerError{fmt.Errorf("consumer: ack: %w", err)}
	}
	return nil
}

// byAggregate orders a batch by aggregate and subject, keeping the order of each
// aggregate's events. Two instances then take the rows of aggregate_versions in
// the same order, and PostgreSQL has no deadlock to break between them.
func byAggregate(events []cloudevent.Event, carriers []amqp.Delivery) {
	idx := make([]int, len(events))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool {
		ea, eb := events[idx[a]], events[idx[b]]
		if ea.Aggregate() != eb.Aggregate() {
			return ea.Aggregate() < eb.Aggregate()
		}
		return ea.Subject < eb.Subject
	})
	evs := make([]cloudevent.Event, len(events))
	ds := make([]amqp.Delivery, len(carriers))
	for to, from := range idx {
		evs[to], ds[to] = events[from], carriers[from]
	}
	copy(events, evs)
	copy(carriers, ds)
}

// applyAll applies the events not yet settled: all in one transaction if it can,
// else one by one, so that only a failing event is retried and, at last,
// dead-lettered. It marks what it settles, so that a retry after a database error
// neither applies nor dead-letters anything twice.
func (c *Consumer) applyAll(ctx context.Context, dl *amqp.Channel, events []cloudevent.Event, carriers []amqp.Delivery, settled []bool) error {
	var pending []cloudevent.Event
	for i, ev := range events {
		if !settled[i] {
			pending = append(pending, ev)
		}
	}
	if len(pending) == 0 {
		return nil
	}
	_, err := c.applyBatch(ctx, pending)
	if err == nil {
		for i := range settled {
			settled[i] = true
		}
		return nil
	}
	var he *HandlerError
	if !errors.As(err, &he) {
		return err
	}
	for i, ev := range events {
		if settled[i] {
			continue
		}
		if err := c.applyWithRetry(ctx, dl, carriers[i], ev); err != nil {
			return err
		}
		settled[i] = true
	}
	return nil
}

// applyWithRetry applies one event, retrying a failing handler with back-off and
// dead-lettering the event after c.Attempts. A database error is returned to the
// caller, which retries the batch.
func (c *Consumer) applyWithRetry(ctx context.Context, dl *amqp.Channel, d amqp.Delivery, ev cloudevent.Event) error {
	pause := c.Backoff
	for attempt := 1; ; attempt++ {
		_, err := c.Apply(ctx, ev)
		if err == nil {
			return nil
		}
		var he *HandlerError
		if !errors.As(err, &he) {
			return err
		}
		if attempt >= c.Attempts {
			c.Logger.WarnContext(telemetry.ContextWithTraceParent(ctx, ev.TraceParent), "dead-lettering event", "queue", c.queue, "type", ev.Type, "id", ev.ID, "attempts", attempt, "err", err)
			return c.deadLetter(ctx, dl, d, deadLetterHandler, err.Error(), attempt)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(pause):
		}
		pause *= 2
	}
}

// brokerError is a failure of the broker connection: it ends the session.
type brokerError struct{ err error }

func (e *brokerError) Error() string { return e.err.Error() }
func (e *brokerError) Unwrap() error { return e.err }

// The kinds of dead letter, the reason label of consumer_dead_letters_total.
const (
	deadLetterUndecodable = "undecodable" // not a CloudEvent at all
	deadLetterSignature   = "signature"   // not signed by the owner's pinned keys, or of another owner
	deadLetterContract    = "contract"    // signed, but breaking the owner's published contract
	deadLetterHandler     = "handler"     // the handler kept failing
)

// deadLetter publishes d to the consumer's dead-letter queue with the reason in
// its headers and waits for the broker's confirm. The caller acks d afterwards; a
// crash in between leaves a copy in both queues, which the inbox makes harmless.
func (c *Consumer) deadLetter(ctx context.Context, dl *amqp.Channel, d amqp.Delivery, kind, reason string, attempts int) error {
	q := c.Queue().Name()
	headers := amqp.Table{}
	for k, v := range d.Headers {
		headers[k] = v
	}
	headers[HeaderReason] = kind + ": " + reason
	headers[HeaderAttempts] = strconv.Itoa(attempts)
	headers[HeaderFailedAt] = time.Now().UTC().Format(time.RFC3339Nano)
	headers[HeaderQueue] = q
	dc, err := dl.PublishWithDeferredConfirmWithContext(ctx, topology.DeadLetterExchange(c.Name), topology.DeadLetterQueue(q), true, false, amqp.Publishing{
		Headers:      headers,
		ContentType:  d.ContentType,
		DeliveryMode: amqp.Persistent,
		MessageId:    d.MessageId,
		Type:         d.Type,
		Timestamp:    d.Timestamp,
		Body:         d.Body,
	})
	if err != nil {
		return &brokerError{fmt.Errorf("consumer: dead-letter: %w", err)}
	}
	waitCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if acked, err := dc.WaitContext(waitCtx); err != nil || !acked {
		return &brokerError{fmt.Errorf("consumer: the broker did not confirm the dead letter of %s", d.MessageId)}
	}
	select {
	case r := <-c.returns:
		return &brokerError{fmt.Errorf("consumer: the broker could not route a dead letter to %s: %s", topology.DeadLetterQueue(q), r.ReplyText)}
	default:
	}
	c.m.deadLetters.WithLabelValues(kind).Inc()
	return nil
}
