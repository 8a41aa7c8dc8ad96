package consumer

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// bootstrap brings an empty replica up to date from the owner's feed. It pages
// through the owner's event history with the same inbox and version checks as the
// queue, so the events that also wait in the queue change nothing when they come.
func (c *Consumer) bootstrap(ctx context.Context) error {
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
			break
		}
		wanted := events[:0]
		for _, ev := range events {
			if _, ok := c.Handlers[ev.Type]; ok {
				wanted = append(wanted, ev)
			}
		}
		if len(wanted) > 0 {
			if _, err := c.applyBatch(ctx, wanted); err != nil {
				return fmt.Errorf("consumer: bootstrap: %w", err)
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
		_, err := tx.ExecContext(ctx, `INSERT INTO replication_state (owner, bootstrapped_at_us, feed_sequence) VALUES ($1, $2, $3)`,
			c.Owner, time.Now().UnixMicro(), after)
		return err
	})
	if err != nil {
		return fmt.Errorf("consumer: record bootstrap: %w", err)
	}
	c.Logger.Info("bootstrap from feed: done", "owner", c.Owner, "sequence", after, "events_applied", applied, "took", time.Since(started).Round(time.Millisecond))
	return nil
}
