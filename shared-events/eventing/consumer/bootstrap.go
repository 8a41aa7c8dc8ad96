package consumer

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/scs-platform/shared-events/contracts/cloudevent"
)

// bootstrap brings an empty replica up to date from the owner's feed. It pages
// through the owner's event history with the same inbox and version checks as the
// queue, so the events that also wait in the queue change nothing when they come.
//
// An event of the history that the handler keeps refusing is dead-lettered like
// one from the queue, so that one bad event cannot hold the whole replica back.
func (c *Consumer) bootstrap(ctx context.Context, dl *amqp.Channel) error {
	started := time.Now()
	var after, applied int64
	c.Logger.Info("bootstrap from feed: starting", "owner", c.Owner)
	lastLog := time.Time{}
	for {
		events, head, err := c.Feed.Page(ctx, after)
		if err != nil {
			return fmt.Errorf("consumer: bootstrap from %s's feed: %w", c.Owner, err)
		}
		if len(events) == 0 {
			// The owner signed this empty page with its head: a feed that ends
			// before it is not the owner's whole history.
			if after < head {
				return fmt.Errorf("consumer: bootstrap from %s's feed: the feed ended at sequence %d, before its head %d", c.Owner, after, head)
			}
			break
		}
		wanted := events[:0]
		for _, ev := range events {
			// The feed is held to the queue's rule: the owner's signature and
			// contract. An event the owner did not sign means the feed itself
			// is not the owner's (a wrong USERS_FEED_URL, or someone between):
			// nothing of it is applied and the catch-up fails, to be tried
			// again, rather than skip an event and call the replica complete.
			// A signed event that breaks the contract is dead-lettered, as from
			// the queue.
			if kind, err := c.Admit(ev); kind == deadLetterSignature {
				return fmt.Errorf("consumer: bootstrap from %s's feed: sequence %d: %w", c.Owner, ev.Sequence, err)
			} else if err != nil {
				c.Logger.Warn("bootstrap from feed: dead-lettering a refused event", "owner", c.Owner, "type", ev.Type, "id", ev.ID, "kind", kind, "err", err)
				if err := c.deadLetter(ctx, dl, asDelivery(ev), kind, err.Error(), 1); err != nil {
					return fmt.Errorf("consumer: bootstrap: %w", err)
				}
				continue
			}
			if _, ok := c.Handlers[ev.Type]; ok {
				wanted = append(wanted, ev)
			}
		}
		if len(wanted) > 0 {
			if _, err := c.applyBatch(ctx, wanted); err != nil {
				var he *HandlerError
				if !errors.As(err, &he) {
					return fmt.Errorf("consumer: bootstrap: %w", err)
				}
				for _, ev := range wanted {
					if err := c.applyWithRetry(ctx, dl, asDelivery(ev), ev); err != nil {
						return fmt.Errorf("consumer: bootstrap: %w", err)
					}
				}
			}
		}
		applied += int64(len(wanted))
		after = events[len(events)-1].Sequence
		if time.Since(lastLog) > time.Second || after >= head {
			c.Logger.Info("bootstrap from feed: progress", "owner", c.Owner, "sequence", after, "of", head, "events_applied", applied)
			lastLog = time.Now()
		}
	}
	err := c.DB.InTx(ctx, func(tx *sql.Tx) error {
		// Another instance may have caught up at the same time, or this is a second
		// catch-up after the queue went missing: the newest record wins.
		_, err := tx.ExecContext(ctx, `INSERT INTO replication_state (owner, bootstrapped_at_us, feed_sequence) VALUES ($1, $2, $3)
			ON CONFLICT (owner) DO UPDATE SET bootstrapped_at_us = excluded.bootstrapped_at_us, feed_sequence = excluded.feed_sequence`,
			c.Owner, time.Now().UnixMicro(), after)
		return err
	})
	if err != nil {
		return fmt.Errorf("consumer: record bootstrap: %w", err)
	}
	c.Logger.Info("bootstrap from feed: done", "owner", c.Owner, "sequence", after, "events_applied", applied, "took", time.Since(started).Round(time.Millisecond))
	return nil
}

// asDelivery dresses an event read from the feed as the message the relay would
// have published, so that it can be dead-lettered (and replayed) like one.
func asDelivery(ev cloudevent.Event) amqp.Delivery {
	body, _ := ev.MarshalJSON() // decoded from the feed, so it encodes
	return amqp.Delivery{
		ContentType: cloudevent.ContentType,
		MessageId:   ev.ID,
		Type:        ev.Type,
		Timestamp:   ev.Time,
		Body:        body,
	}
}
