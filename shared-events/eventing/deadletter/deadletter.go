// Package deadletter is the operator's tool for the dead-letter queues
// ("<consumer>.from-<owner>.dead"): List shows what a consumer gave up on and why,
// without taking anything away, and Replay moves dead letters back to the queue
// they came from once the cause is fixed. Command wraps both as the
// "deadletters" subcommand every binary offers.
//
// A dead letter gets there in one of two ways. Usually the consumer gave up on it
// and published it with its reason in the x-scs-* headers (see package consumer).
// Otherwise the broker dead-lettered it itself, for example when its delivery
// limit ran out because the message kept crashing the consumer; then the reason
// is in RabbitMQ's x-death headers. List reads both.
package deadletter

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/scs-platform/shared-events/eventing/consumer"
	"github.com/scs-platform/shared-events/eventing/topology"
)

// HeaderReplayedAt is set on a replayed message to the time of the replay (RFC
// 3339, UTC).
const HeaderReplayedAt = "x-scs-replayed-at"

// confirmTimeout bounds the wait for the broker's confirm of one replayed message.
const confirmTimeout = 30 * time.Second

// Letter is one dead letter as List shows it.
type Letter struct {
	MessageID string
	// Type is the event type; for a message without the AMQP type property it is
	// read from the CloudEvent in the body, if the body is one.
	Type string
	// Reason says why the message was given up on: the consumer's own words
	// ("handler: ...", "undecodable: ..."), or the broker's reason for a message
	// the broker dead-lettered ("delivery_limit", "rejected", "expired").
	Reason string
	// Attempts is how often the consumer's handler ran, or 0 when the broker
	// dead-lettered the message.
	Attempts int
	// FailedAt is when the message was dead-lettered; zero if unknown.
	FailedAt time.Time
	// Queue is the consumer queue the message was dead-lettered from.
	Queue string
	// DeliveryCount is the x-delivery-count header the message carried when it was
	// dead-lettered (how often the consumer queue had delivered it), or 0 if none.
	// The dead-letter queue is a classic queue, so looking does not change it.
	DeliveryCount int
	// Deaths is how often the broker dead-lettered the message from Queue (the
	// x-death count), or 0 for a letter only the consumer dead-lettered.
	Deaths int
	// Headers are all headers as received, for what the fields above leave out.
	Headers amqp.Table
	Body    []byte
}

// List returns up to max dead letters of the consumer queue queue, oldest first,
// and leaves them all in the dead-letter queue.
//
// The letters are fetched unacknowledged and go back to the dead-letter queue
// when List closes its channel. The broker puts them back asynchronously, so a
// List or Replay right after another List may briefly see fewer.
func List(ctx context.Context, conn *amqp.Connection, queue string, max int) ([]Letter, error) {
	if max < 1 {
		return nil, fmt.Errorf("deadletter: list %s: max must be at least 1, not %d", queue, max)
	}
	dlq := topology.DeadLetterQueue(queue)
	if err := mustExist(conn, dlq); err != nil {
		return nil, err
	}
	ch, err := conn.Channel()
	if err != nil {
		return nil, fmt.Errorf("deadletter: open channel: %w", err)
	}
	// Closing the channel without acknowledging is what returns every fetched
	// letter to the queue; an explicit requeue would return them just the same.
	defer ch.Close()
	var letters []Letter
	for len(letters) < max {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		d, ok, err := ch.Get(dlq, false)
		if err != nil {
			return nil, fmt.Errorf("deadletter: read %s: %w", dlq, err)
		}
		if !ok {
			break
		}
		letters = append(letters, letterOf(d))
	}
	return letters, nil
}

// Replay moves up to max dead letters of the consumer queue queue back to that
// queue and returns how many it moved. It publishes each one through the
// consumer's dead-letter exchange, to which the queue is bound under its own
// name, so that only this consumer sees it again and not every other consumer of
// the same owner. The default exchange would do the same, but publishing to it
// needs write permission on amq.default, which reaches every queue in the
// virtual host, other systems' too; the dead-letter exchange is the consumer's
// own. The copy keeps the body and properties;
// the dead-letter headers are removed and HeaderReplayedAt is added. The dead
// letter is acknowledged only after the broker confirmed the copy, so a message
// that cannot be published stays in the dead-letter queue (and a failure between
// confirm and ack leaves a copy in both, which the consumer's inbox absorbs).
//
// Replay stops when the dead-letter queue is empty, when max letters have moved,
// or when a letter it replayed itself comes back (the consumer gave up on it
// again), so it never loops.
func Replay(ctx context.Context, conn *amqp.Connection, queue string, max int) (int, error) {
	if max < 1 {
		return 0, fmt.Errorf("deadletter: replay %s: max must be at least 1, not %d", queue, max)
	}
	dlq := topology.DeadLetterQueue(queue)
	if err := mustExist(conn, dlq); err != nil {
		return 0, err
	}
	if err := mustExist(conn, queue); err != nil {
		return 0, err
	}
	dlx, err := replayExchange(queue)
	if err != nil {
		return 0, err
	}
	ch, err := conn.Channel()
	if err != nil {
		return 0, fmt.Errorf("deadletter: open channel: %w", err)
	}
	defer ch.Close()
	// The consumer binds the queue so when it declares it; binding again is
	// harmless and covers a queue an older version declared.
	if err := ch.QueueBind(queue, queue, dlx, false, nil); err != nil {
		return 0, fmt.Errorf("deadletter: bind %s to %s for replays: %w", queue, dlx, err)
	}
	if err := ch.Confirm(false); err != nil {
		return 0, fmt.Errorf("deadletter: confirm mode: %w", err)
	}
	// One message is in flight at a time, so one slot is enough; the library
	// hands over a return before the confirm that follows it.
	returns := ch.NotifyReturn(make(chan amqp.Return, 1))
	// Every letter of this run carries the same stamp, which is how a letter that
	// comes back during the run is recognised.
	stamp := time.Now().UTC().Format(time.RFC3339Nano)
	moved := 0
	for moved < max {
		if err := ctx.Err(); err != nil {
			return moved, err
		}
		d, ok, err := ch.Get(dlq, false)
		if err != nil {
			return moved, fmt.Errorf("deadletter: read %s: %w", dlq, err)
		}
		if !ok {
			break
		}
		if s, _ := d.Headers[HeaderReplayedAt].(string); s == stamp {
			_ = d.Nack(false, true)
			break
		}
		if err := republish(ctx, ch, returns, dlx, queue, d, stamp); err != nil {
			_ = d.Nack(false, true)
			return moved, fmt.Errorf("deadletter: replay %s to %s: %w", describe(d), queue, err)
		}
		if err := d.Ack(false); err != nil {
			return moved, fmt.Errorf("deadletter: replayed %s to %s but could not remove it from %s, so it is in both: %w", describe(d), queue, dlq, err)
		}
		moved++
	}
	return moved, nil
}

func republish(ctx context.Context, ch *amqp.Channel, returns <-chan amqp.Return, exchange, queue string, d amqp.Delivery, stamp string) error {
	headers := amqp.Table{}
	for k, v := range d.Headers {
		headers[k] = v
	}
	// The replayed message starts afresh: it must not look dead-lettered to the
	// consumer or to a later List. Other x-scs-* headers (x-scs-publisher) belong
	// to the original message and stay.
	for _, k := range []string{consumer.HeaderReason, consumer.HeaderAttempts, consumer.HeaderFailedAt, consumer.HeaderQueue, "x-delivery-count", "x-death"} {
		delete(headers, k)
	}
	for k := range headers {
		if strings.HasPrefix(k, "x-first-death-") || strings.HasPrefix(k, "x-last-death-") {
			delete(headers, k)
		}
	}
	headers[HeaderReplayedAt] = stamp
	// UserId is left out: the broker rejects a user id other than the
	// connection's own, and the operator's connection need not be the original
	// publisher's.
	msg := amqp.Publishing{
		Headers:         headers,
		ContentType:     d.ContentType,
		ContentEncoding: d.ContentEncoding,
		DeliveryMode:    amqp.Persistent,
		Priority:        d.Priority,
		CorrelationId:   d.CorrelationId,
		ReplyTo:         d.ReplyTo,
		Expiration:      d.Expiration,
		MessageId:       d.MessageId,
		Timestamp:       d.Timestamp,
		Type:            d.Type,
		AppId:           d.AppId,
		Body:            d.Body,
	}
	// Mandatory: if queue vanished since the check, the broker returns the
	// message instead of confirming it into nowhere.
	dc, err := ch.PublishWithDeferredConfirmWithContext(ctx, exchange, queue, true, false, msg)
	if err != nil {
		return fmt.Errorf("publish: %w", err)
	}
	waitCtx, cancel := context.WithTimeout(ctx, confirmTimeout)
	defer cancel()
	acked, err := dc.WaitContext(waitCtx)
	if err != nil {
		return fmt.Errorf("no confirm from the broker: %w", err)
	}
	if !acked {
		return errors.New("the broker refused the message (is the queue full?)")
	}
	select {
	case r := <-returns:
		return fmt.Errorf("the broker could not route the message: %s", r.ReplyText)
	default:
	}
	return nil
}

// replayExchange is the dead-letter exchange of the consumer of queue.
func replayExchange(queue string) (string, error) {
	consumer, _, ok := strings.Cut(queue, ".from-")
	if !ok || consumer == "" {
		return "", fmt.Errorf("deadletter: %s is not a consumer queue (<consumer>.from-<owner>)", queue)
	}
	return topology.DeadLetterExchange(consumer), nil
}

// mustExist checks that queue exists. It uses a channel of its own because a
// failed passive declare closes the channel.
func mustExist(conn *amqp.Connection, queue string) error {
	ch, err := conn.Channel()
	if err != nil {
		return fmt.Errorf("deadletter: open channel: %w", err)
	}
	defer ch.Close()
	if _, err := ch.QueueDeclarePassive(queue, true, false, false, false, nil); err != nil {
		var ae *amqp.Error
		if errors.As(err, &ae) && ae.Code == amqp.NotFound {
			return fmt.Errorf("deadletter: there is no queue %s on the broker (has its consumer ever started?)", queue)
		}
		return fmt.Errorf("deadletter: check queue %s: %w", queue, err)
	}
	return nil
}

func describe(d amqp.Delivery) string {
	if d.MessageId != "" {
		return "message " + d.MessageId
	}
	return "a message without id"
}

// letterOf reads a dead letter's headers. Of the consumer's reason and the
// broker's, the later one wins: a message can die both ways in turn.
func letterOf(d amqp.Delivery) Letter {
	l := Letter{
		MessageID:     d.MessageId,
		Type:          d.Type,
		Reason:        text(d.Headers[consumer.HeaderReason]),
		Attempts:      number(d.Headers[consumer.HeaderAttempts]),
		FailedAt:      instant(d.Headers[consumer.HeaderFailedAt]),
		Queue:         text(d.Headers[consumer.HeaderQueue]),
		DeliveryCount: number(d.Headers["x-delivery-count"]),
		Headers:       d.Headers,
		Body:          d.Body,
	}
	if reason, queue, at, count, ok := lastDeath(d.Headers); ok {
		l.Deaths = count
		if l.Reason == "" || at.After(l.FailedAt) {
			l.Reason, l.Queue, l.FailedAt, l.Attempts = reason, queue, at, 0
		}
	}
	if l.MessageID == "" || l.Type == "" {
		// A body that is no CloudEvent leaves the fields empty, which is fine.
		var ev struct {
			ID   string `json:"id"`
			Type string `json:"type"`
		}
		if json.Unmarshal(d.Body, &ev) == nil {
			l.MessageID = orElse(l.MessageID, ev.ID)
			l.Type = orElse(l.Type, ev.Type)
		}
	}
	return l
}

// lastDeath reads the broker's dead-lettering headers. x-death lists the deaths
// newest first; x-first-death-* is what RabbitMQ versions without a usable
// x-death leave.
func lastDeath(h amqp.Table) (reason, queue string, at time.Time, count int, ok bool) {
	if deaths, _ := h["x-death"].([]any); len(deaths) > 0 {
		if last, _ := deaths[0].(amqp.Table); last != nil {
			reason = text(last["reason"])
			queue = text(last["queue"])
			at = instant(last["time"])
			count = number(last["count"])
		}
	}
	if reason == "" {
		reason = text(h["x-first-death-reason"])
	}
	if queue == "" {
		queue = text(h["x-first-death-queue"])
	}
	return reason, queue, at, count, reason != ""
}

func orElse(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func text(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case []byte:
		return string(v)
	case nil:
		return ""
	default:
		return fmt.Sprint(v)
	}
}

func number(v any) int {
	switch v := v.(type) {
	case int:
		return v
	case int8:
		return int(v)
	case int16:
		return int(v)
	case int32:
		return int(v)
	case int64:
		return int(v)
	case uint8:
		return int(v)
	case uint16:
		return int(v)
	case uint32:
		return int(v)
	case string:
		n, _ := strconv.Atoi(strings.TrimSpace(v))
		return n
	default:
		return 0
	}
}

func instant(v any) time.Time {
	switch v := v.(type) {
	case time.Time:
		return v.UTC()
	case string:
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			return time.Time{}
		}
		return t.UTC()
	default:
		return time.Time{}
	}
}
