// Package topology declares the platform's exchanges and queues. Declarations are
// idempotent, so every process declares what it needs at start-up and after every
// reconnect.
//
// Names follow docs/architecture.md: one topic exchange per owner ("users.events"), one
// quorum queue per consumer and owner ("chat.from-users") with a dead-letter queue
// beside it ("chat.from-users.dead").
package topology

import (
	"errors"
	"fmt"

	amqp "github.com/rabbitmq/amqp091-go"
)

// Exchange is the topic exchange an owner publishes to.
func Exchange(owner string) string { return owner + ".events" }

// Queue is the queue through which consumer receives owner's events.
func Queue(consumer, owner string) string { return consumer + ".from-" + owner }

// DeadLetterQueue holds what the consumer of queue gave up on.
func DeadLetterQueue(queue string) string { return queue + ".dead" }

// DeadLetterExchange is the direct exchange that routes a consumer's dead letters
// to the dead-letter queue of the queue they came from.
func DeadLetterExchange(consumer string) string { return consumer + ".dead-letters" }

// DeadLetterBound is the broker policy that bounds every dead-letter queue:
// whoever may publish to an owner's exchange (its credential, the broker's
// administrator) can send events that every consumer refuses and keeps as
// dead letters, and without a bound they would fill the broker's disk until
// its alarm blocks every publisher of the platform. Past the bound the oldest
// dead letters go first (a classic queue's drop-head). A policy rather than a
// queue argument, so that queues declared before it need no migration.
var DeadLetterBound = struct {
	Name, Pattern, Definition string
}{
	Name:       "scs-dead-letters-bounded",
	Pattern:    `\.dead$`,
	Definition: `{"max-length":100000,"overflow":"drop-head"}`,
}

// DefaultDeliveryLimit is how often a message may be delivered before the broker
// itself dead-letters it. Consumers give up far earlier (and say why); this limit
// is the backstop for a message that crashes the consumer process.
const DefaultDeliveryLimit = 20

// DeclareExchange declares owner's durable topic exchange.
func DeclareExchange(ch *amqp.Channel, owner string) error {
	if err := ch.ExchangeDeclare(Exchange(owner), amqp.ExchangeTopic, true, false, false, false, nil); err != nil {
		return fmt.Errorf("topology: declare exchange %s: %w", Exchange(owner), err)
	}
	return nil
}

// ErrOwnerExchangeMissing is an owner's exchange that does not exist yet.
var ErrOwnerExchangeMissing = errors.New("topology: the owner's exchange does not exist yet")

// CheckExchange checks passively that owner's exchange exists, which needs no
// permission on it. A missing exchange closes ch (the broker's NOT_FOUND) and
// fails with ErrOwnerExchangeMissing, in words an operator can act on.
func CheckExchange(ch *amqp.Channel, owner string) error {
	err := ch.ExchangeDeclarePassive(Exchange(owner), amqp.ExchangeTopic, true, false, false, false, nil)
	var ae *amqp.Error
	if errors.As(err, &ae) && ae.Code == amqp.NotFound {
		return missingExchangeError{owner}
	}
	if err != nil {
		return fmt.Errorf("topology: check exchange %s: %w", Exchange(owner), err)
	}
	return nil
}

type missingExchangeError struct{ owner string }

func (e missingExchangeError) Error() string {
	return fmt.Sprintf("%s does not exist yet: scs-%s declares it when it starts, or the broker's definitions do", Exchange(e.owner), e.owner)
}

func (e missingExchangeError) Is(target error) bool { return target == ErrOwnerExchangeMissing }

// ConsumerQueue is the queue one consumer reads one owner's events from.
type ConsumerQueue struct {
	Consumer string
	Owner    string
	// Types are the event types (routing keys) the consumer binds to.
	Types []string
	// DeliveryLimit overrides DefaultDeliveryLimit when positive.
	DeliveryLimit int
}

// Name is the queue's name.
func (q ConsumerQueue) Name() string { return Queue(q.Consumer, q.Owner) }

// Declare checks that the owner's exchange exists, declares the consumer's
// dead-letter exchange and queue, and the quorum queue bound to every type in
// q.Types and to the dead-letter exchange under its own name (the way replayed
// dead letters come back, see package deadletter).
//
// The owner's exchange is only checked, passively: declaring it would need
// configure permission on another system's exchange. If it does not exist yet,
// Declare fails with ErrOwnerExchangeMissing, and the broker.Runner the
// consumer runs in tries again with back-off until the owner has started.
//
// Dead-lettering uses the at-least-once strategy (RabbitMQ 3.10+), which needs
// overflow=reject-publish: with the default at-most-once strategy a broker restart
// at the wrong moment could lose a dead letter.
//
// Declaring an existing queue with different arguments fails with
// PRECONDITION_FAILED and closes the channel; the error says so.
func (q ConsumerQueue) Declare(ch *amqp.Channel) error {
	if err := CheckExchange(ch, q.Owner); err != nil {
		return err
	}
	name := q.Name()
	dlx := DeadLetterExchange(q.Consumer)
	dlq := DeadLetterQueue(name)
	if err := ch.ExchangeDeclare(dlx, amqp.ExchangeDirect, true, false, false, false, nil); err != nil {
		return fmt.Errorf("topology: declare exchange %s: %w", dlx, err)
	}
	// The dead-letter queue is a durable classic queue: operators inspect it by
	// getting and returning messages, and a quorum queue would count each look as a
	// delivery (RabbitMQ 4 gives quorum queues a default delivery limit of 20, so
	// looking at a dead letter often enough would drop it).
	if _, err := ch.QueueDeclare(dlq, true, false, false, false, amqp.Table{"x-queue-type": "classic"}); err != nil {
		return fmt.Errorf("topology: declare queue %s: %w", dlq, explain(err))
	}
	if err := ch.QueueBind(dlq, dlq, dlx, false, nil); err != nil {
		return fmt.Errorf("topology: bind %s to %s: %w", dlq, dlx, err)
	}
	limit := q.DeliveryLimit
	if limit <= 0 {
		limit = DefaultDeliveryLimit
	}
	args := amqp.Table{
		"x-queue-type":              "quorum",
		"x-delivery-limit":          int64(limit),
		"x-dead-letter-exchange":    dlx,
		"x-dead-letter-routing-key": dlq,
		"x-dead-letter-strategy":    "at-least-once",
		"x-overflow":                "reject-publish",
	}
	if _, err := ch.QueueDeclare(name, true, false, false, false, args); err != nil {
		return fmt.Errorf("topology: declare queue %s: %w", name, explain(err))
	}
	if err := ch.QueueBind(name, name, dlx, false, nil); err != nil {
		return fmt.Errorf("topology: bind %s to %s: %w", name, dlx, err)
	}
	for _, typ := range q.Types {
		if err := ch.QueueBind(name, typ, Exchange(q.Owner), false, nil); err != nil {
			return fmt.Errorf("topology: bind %s to %s for %s: %w", name, Exchange(q.Owner), typ, err)
		}
	}
	return nil
}

func explain(err error) error {
	if e, ok := err.(*amqp.Error); ok && e.Code == amqp.PreconditionFailed {
		return fmt.Errorf("%w (the queue exists with other arguments; delete it or migrate it with a new name)", err)
	}
	return err
}
