package consumer_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/scs-platform/shared-events/eventing/consumer"
	"github.com/scs-platform/shared-events/eventing/eventsig"
	"github.com/scs-platform/shared-events/eventing/feed"
	"github.com/scs-platform/shared-events/eventing/topology"
	"github.com/scs-platform/shared-events/testkit/servicetest"
)

func TestEmptyReplicaBootstrapsFromTheFeedWhileEventsKeepArriving(t *testing.T) {
	t.Parallel()
	for _, b := range servicetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t, b.Open)
			start(t, w.newRelay("a").Run)
			// History published before the consumer's queue existed: it reached no
			// queue and is only in the owner's feed.
			w.changeMany(1200, 90)
			servicetest.Eventually(t, 20*time.Second, "the history to be published", func() bool {
				return count(t, w.src, `SELECT count(*) FROM outbox WHERE sent_at_us IS NULL`) == 0
			})

			srv := httptest.NewServer(feed.Handler(w.outbox, eventsig.DevelopmentSigner(w.owner), w.logger, "secret"))
			t.Cleanup(srv.Close)
			c := w.newConsumer()
			c.Feed = &feed.Client{URL: srv.URL, Token: "secret", Limit: 100}

			ctx, cancel := context.WithCancel(context.Background())
			var wg sync.WaitGroup
			t.Cleanup(func() { cancel(); wg.Wait() })
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; ctx.Err() == nil && i < 600; i++ {
					if err := w.change(ctx, fmt.Sprintf("thing-%d", i%120)); err != nil && ctx.Err() == nil {
						t.Errorf("change: %v", err)
						return
					}
				}
			}()
			start(t, c.Run)
			wg.Wait()
			cancel()
			w.converged(30 * time.Second)
			// The replica can equal the source a moment before the consumer records
			// that the bootstrap is over.
			servicetest.Eventually(t, 10*time.Second, "the consumer to record its bootstrap", func() bool {
				done, err := c.Bootstrapped(context.Background())
				must(t, err)
				return done
			})
		})
	}
}

func TestFeedRefusesCallersWithoutTheToken(t *testing.T) {
	t.Parallel()
	w := newWorld(t, servicetest.SQLite)
	srv := httptest.NewServer(feed.Handler(w.outbox, eventsig.DevelopmentSigner(w.owner), w.logger, "secret"))
	t.Cleanup(srv.Close)
	for _, token := range []string{"", "wrong", "secretx"} {
		c := &feed.Client{URL: srv.URL, Token: token}
		if _, _, err := c.Page(context.Background(), 0); err == nil {
			t.Errorf("token %q read the feed", token)
		}
	}
}

func TestAPoisonEventInTheFeedIsDeadLetteredAndTheRestCatchesUp(t *testing.T) {
	t.Parallel()
	w := newWorld(t, servicetest.SQLite)
	w.changeMany(50, 5)
	must(t, w.change(context.Background(), "thing-poison"))
	w.changeMany(50, 5)

	srv := httptest.NewServer(feed.Handler(w.outbox, eventsig.DevelopmentSigner(w.owner), w.logger, "secret"))
	t.Cleanup(srv.Close)
	c := w.newConsumer()
	c.Feed = &feed.Client{URL: srv.URL, Token: "secret", Limit: 20}
	w.broken.Store("thing-poison")
	w.declare(c)
	start(t, c.Run)

	dlq := topology.DeadLetterQueue(c.Queue().Name())
	servicetest.Eventually(t, 20*time.Second, "the poison dead-lettered and the rest applied", func() bool {
		return w.queueDepth(dlq) == 1 && len(things(t, w.replica)) == 5
	})
	w.broken.Store("")
	replay(t, dlq, c.Queue().Name())
	w.converged(20 * time.Second)
}

func TestAConsumerWhoseQueueWasDeletedCatchesUpFromTheFeedAgain(t *testing.T) {
	t.Parallel()
	w := newWorld(t, servicetest.SQLite)
	srv := httptest.NewServer(feed.Handler(w.outbox, eventsig.DevelopmentSigner(w.owner), w.logger, "secret"))
	t.Cleanup(srv.Close)
	newConsumer := func() *consumer.Consumer {
		c := w.newConsumer()
		c.Feed = &feed.Client{URL: srv.URL, Token: "secret"}
		return c
	}
	start(t, w.newRelay("a").Run)
	w.changeMany(30, 3)
	stop := start(t, newConsumer().Run)
	w.converged(20 * time.Second)
	stop()

	// An operator deletes the queue; what is published before the consumer
	// declares it again reaches no queue.
	conn := servicetest.AMQP(t)
	ch, err := conn.Channel()
	must(t, err)
	_, err = ch.QueueDelete(topology.Queue(consumerName, w.owner), false, false, false)
	must(t, err)
	w.changeMany(30, 6)
	servicetest.Eventually(t, 20*time.Second, "the new events to be published", func() bool {
		return count(t, w.src, `SELECT count(*) FROM outbox WHERE sent_at_us IS NULL`) == 0
	})
	start(t, newConsumer().Run)
	w.converged(20 * time.Second)
}

// TestAFeedTheOwnerDidNotSignFillsNothing: a feed at the wrong address, or
// someone between the consumer and the owner, serves events the owner's key
// did not sign. Nothing of them is applied, the catch-up is not recorded as
// done, and the consumer keeps trying, saying why.
func TestAFeedTheOwnerDidNotSignFillsNothing(t *testing.T) {
	t.Parallel()
	w := newWorld(t, servicetest.SQLite)
	w.changeMany(50, 5)
	seed := make([]byte, 32)
	_, _ = rand.Read(seed)
	forger, err := eventsig.NewSigner(w.owner, seed)
	must(t, err)
	srv := httptest.NewServer(feed.Handler(servicetest.SignedFeed(w.outbox, forger), eventsig.DevelopmentSigner(w.owner), w.logger, "secret"))
	t.Cleanup(srv.Close)
	c := w.newConsumer()
	c.Feed = &feed.Client{URL: srv.URL, Token: "secret"}
	start(t, c.Run)

	servicetest.Eventually(t, 20*time.Second, "the consumer to refuse the feed and say why", func() bool {
		err := c.Broker.LastError()
		return err != nil && strings.Contains(err.Error(), "not one of the pinned keys of "+w.owner)
	})
	if n := count(t, w.replica, `SELECT count(*) FROM inbox`); n != 0 {
		t.Errorf("%d events of the forged feed were applied", n)
	}
	if done, err := c.Bootstrapped(context.Background()); err != nil || done {
		t.Errorf("Bootstrapped = %v, %v after a forged feed; want false", done, err)
	}
}
