package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/scs-platform/shared-events/contracts/cloudevent"
	"github.com/scs-platform/shared-events/eventing/broker"
	"github.com/scs-platform/shared-events/eventing/topology"
)

// headerSentAt carries the clock time at which the raw publisher started a publish.
const headerSentAt = "x-bench-sent-at"

// rawBatchSize is how many deliveries the raw consumer acks at once at most: the
// consumer package's default batch.
const rawBatchSize = 64

// benchRaw measures the broker alone: a publisher with confirms and a bounded
// window, as the relay publishes, into a quorum queue declared as the platform
// declares it, and a consumer that acks with multiple=true per batch and touches
// no database.
func benchRaw(ctx context.Context, cfg config, n names, c clock) (scenarioResult, error) {
	pubConn, err := broker.Dial(ctx, cfg.AMQPURL, "bench raw publisher")
	if err != nil {
		return scenarioResult{}, err
	}
	defer closeConn(pubConn)
	subConn, err := broker.Dial(ctx, cfg.AMQPURL, "bench raw consumer")
	if err != nil {
		return scenarioResult{}, err
	}
	defer closeConn(subConn)

	ch, err := pubConn.Channel()
	if err != nil {
		return scenarioResult{}, fmt.Errorf("raw: open channel: %w", err)
	}
	q := topology.ConsumerQueue{Consumer: n.rawConsumer, Owner: n.owner, Types: []string{n.rawType()}}
	if err := topology.DeclareExchange(ch, n.owner); err != nil {
		return scenarioResult{}, fmt.Errorf("raw: %w", err)
	}
	if err := q.Declare(ch); err != nil {
		return scenarioResult{}, fmt.Errorf("raw: %w", err)
	}
	if err := ch.Confirm(false); err != nil {
		return scenarioResult{}, fmt.Errorf("raw: confirm mode: %w", err)
	}
	sub, err := subConn.Channel()
	if err != nil {
		return scenarioResult{}, fmt.Errorf("raw: open consumer channel: %w", err)
	}
	if err := sub.Qos(cfg.Prefetch, 0, false); err != nil {
		return scenarioResult{}, fmt.Errorf("raw: qos: %w", err)
	}
	consumeCtx, stopConsuming := context.WithCancel(ctx)
	defer stopConsuming()
	// Consume without a context: cancelling one makes amqp091 send a basic.cancel
	// that races the connection's close. Closing the connection ends the consumer.
	deliveries, err := sub.Consume(q.Name(), "", false, false, false, false, nil)
	if err != nil {
		return scenarioResult{}, fmt.Errorf("raw: consume %s: %w", q.Name(), err)
	}
	tr := newTracker(c)
	errc := make(chan error, 1)
	go func() { errc <- consumeRaw(consumeCtx, deliveries, tr) }()

	body, err := rawBody(n)
	if err != nil {
		return scenarioResult{}, err
	}
	pub := &rawPublisher{ch: ch, exchange: topology.Exchange(n.owner), key: n.rawType(), body: body, window: cfg.Window, clock: c}
	p := pipeline{
		clock:   c,
		tracker: tr,
		errc:    errc,
		send: func(ctx context.Context, k int) error {
			for range k {
				if err := pub.publish(ctx); err != nil {
					return err
				}
			}
			return nil
		},
		flush:   pub.flush,
		timeout: cfg.PhaseTimeout,
	}
	return measure(ctx, cfg, p, phases{})
}

// rawBody is a message as large as the outbox's: an encoded event whose data has
// the same fields. The publish time travels in a header instead.
func rawBody(n names) ([]byte, error) {
	ev, err := cloudevent.New(n.source(), n.rawType(), subject(0), 1, newItem(0, 0))
	if err != nil {
		return nil, fmt.Errorf("raw: %w", err)
	}
	ev.Sequence = 1
	return ev.MarshalJSON()
}

// rawPublisher publishes with at most window messages unconfirmed, waiting for
// the oldest confirm when the window is full, as outbox.Relay does.
type rawPublisher struct {
	ch       *amqp.Channel
	exchange string
	key      string
	body     []byte
	window   int
	clock    clock
	pending  []*amqp.DeferredConfirmation
}

func (p *rawPublisher) publish(ctx context.Context) error {
	if len(p.pending) >= p.window {
		if err := p.settleOldest(ctx); err != nil {
			return err
		}
	}
	sentAt := p.clock.now()
	dc, err := p.ch.PublishWithDeferredConfirmWithContext(ctx, p.exchange, p.key, false, false, amqp.Publishing{
		ContentType:  cloudevent.ContentType,
		DeliveryMode: amqp.Persistent,
		Type:         p.key,
		Timestamp:    time.Now(),
		Headers:      amqp.Table{headerSentAt: sentAt},
		Body:         p.body,
	})
	if err != nil {
		return fmt.Errorf("raw: publish: %w", err)
	}
	p.pending = append(p.pending, dc)
	// Drop the confirmed head without waiting, so that a paced run never fills
	// the window with confirms long since received.
	for len(p.pending) > 0 {
		select {
		case <-p.pending[0].Done():
		default:
			return nil
		}
		if err := p.settleOldest(ctx); err != nil {
			return err
		}
	}
	return nil
}

func (p *rawPublisher) settleOldest(ctx context.Context) error {
	acked, err := p.pending[0].WaitContext(ctx)
	if err != nil {
		return fmt.Errorf("raw: wait for confirm: %w", err)
	}
	if !acked {
		return errors.New("raw: the broker nacked a publish")
	}
	p.pending = p.pending[1:]
	return nil
}

// flush waits for every outstanding confirm.
func (p *rawPublisher) flush(ctx context.Context) error {
	for len(p.pending) > 0 {
		if err := p.settleOldest(ctx); err != nil {
			return err
		}
	}
	return nil
}

// consumeRaw takes what has arrived, up to rawBatchSize deliveries, acks it with
// one multiple ack, and reports it to tr: the consumer package's loop without
// the database.
func consumeRaw(ctx context.Context, deliveries <-chan amqp.Delivery, tr *tracker) error {
	sent := make([]int64, 0, rawBatchSize)
	for {
		var last amqp.Delivery
		select {
		case <-ctx.Done():
			// amqp091 cannot close the connection while a delivery waits to be
			// handed over.
			go func() {
				for range deliveries {
				}
			}()
			return nil
		case d, ok := <-deliveries:
			if !ok {
				if ctx.Err() != nil {
					return nil
				}
				return errors.New("raw: the broker closed the delivery channel")
			}
			last = d
		}
		sent = append(sent[:0], sentAtHeader(last))
	fill:
		for len(sent) < rawBatchSize {
			select {
			case d, ok := <-deliveries:
				if !ok {
					break fill
				}
				last = d
				sent = append(sent, sentAtHeader(d))
			default:
				break fill
			}
		}
		if err := last.Ack(true); err != nil {
			return fmt.Errorf("raw: ack: %w", err)
		}
		tr.arrived(tr.clock.now(), sent...)
	}
}

// closeConn closes conn and with it its channels, within a bound: a busy broker
// that never answers must not hold the benchmark up.
func closeConn(conn *amqp.Connection) {
	_ = conn.CloseDeadline(time.Now().Add(5 * time.Second))
}

func sentAtHeader(d amqp.Delivery) int64 {
	v, _ := d.Headers[headerSentAt].(int64)
	return v
}
