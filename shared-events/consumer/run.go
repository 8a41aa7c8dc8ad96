package consumer

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/scs-platform/shared-events/cloudevent"
	"github.com/scs-platform/shared-events/topology"
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
	return c.Broker.Run(ctx, c.session)
}

func (c *Consumer) session(ctx context.Context, conn *amqp.Connection) error {
	ch, err := conn.Channel()
	if err != nil {
		return fmt.Errorf("consumer: open channel: %w", err)
	}
	q := c.Queue()
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
		if !done {
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

// handle applies a batch of deliveries and acknowledges them together. Deliveries
// that cannot be decoded, and events whose handler keeps failing, are
// dead-lettered first; the ack comes only after the local commit and after the
// broker confirmed every dead letter.
func (c *Consumer) handle(ctx context.Context, dl *amqp.Channel, batch []amqp.Delivery) error {
	var events []cloudevent.Event
	var carriers []amqp.Delivery
	for _, d := range batch {
		if d.Redelivered {
			c.m.redeliveries.Inc()
		}
		ev, err := cloudevent.Decode(d.Body)
		if err != nil {
			if err := c.deadLetter(ctx, dl, d, "undecodable", err.Error(), 1); err != nil {
				return err
			}
			continue
		}
		events = append(events, ev)
		carriers = append(carriers, d)
	}
	if len(events) > 0 {
		if _, err := c.applyBatch(ctx, events); err != nil {
			var he *HandlerError
			if !errors.As(err, &he) {
				return err
			}
			// One handler failed and took the batch with it: go one by one, so that
			// only the failing event is retried and, at last, dead-lettered.
			for i, ev := range events {
				if err := c.applyWithRetry(ctx, dl, carriers[i], ev); err != nil {
					return err
				}
			}
		}
	}
	if err := batch[len(batch)-1].Ack(true); err != nil {
		return fmt.Errorf("consumer: ack: %w", err)
	}
	return nil
}

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
		if errors.Is(err, errNoHandler) || attempt >= c.Attempts {
			c.Logger.Warn("dead-lettering event", "queue", c.Queue().Name(), "type", ev.Type, "id", ev.ID, "attempts", attempt, "err", err)
			return c.deadLetter(ctx, dl, d, "handler", err.Error(), attempt)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(pause):
		}
		pause *= 2
	}
}

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
		return fmt.Errorf("consumer: dead-letter: %w", err)
	}
	waitCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if acked, err := dc.WaitContext(waitCtx); err != nil || !acked {
		return fmt.Errorf("consumer: the broker did not confirm the dead letter of %s", d.MessageId)
	}
	select {
	case r := <-c.returns:
		return fmt.Errorf("consumer: the broker could not route a dead letter to %s: %s", topology.DeadLetterQueue(q), r.ReplyText)
	default:
	}
	c.m.deadLetters.WithLabelValues(kind).Inc()
	return nil
}
