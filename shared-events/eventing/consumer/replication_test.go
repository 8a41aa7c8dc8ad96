package consumer_test

import (
	"context"
	"testing"
	"time"

	"github.com/scs-platform/shared-events/contracts/cloudevent"
	"github.com/scs-platform/shared-events/eventing/consumer"
	"github.com/scs-platform/shared-events/eventing/eventsig"
	"github.com/scs-platform/shared-events/testkit/servicetest"
)

func TestCommittedEventsAreAppliedExactlyOnce(t *testing.T) {
	t.Parallel()
	for _, b := range servicetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t, b.Open)
			c := w.newConsumer()
			// Without a feed, only events published after the queue exists reach it.
			w.declare(c)
			start(t, c.Run)
			start(t, w.newRelay("a").Run)
			w.changeMany(500, 37)
			w.converged(30 * time.Second)
			// The relay marks a row sent once the broker confirms it, which can
			// come after the consumer applied the event (seen under the race
			// detector).
			servicetest.Eventually(t, 20*time.Second, "every outbox row marked sent", func() bool {
				return count(t, w.src, `SELECT count(*) FROM outbox WHERE sent_at_us IS NULL`) == 0
			})
		})
	}
}

// sequenced plays the outbox: on the wire every event carries a sequence and
// its owner's signature.
func sequenced(ev cloudevent.Event, seq int64) []byte {
	ev.Sequence = seq
	ev, err := eventsig.DevelopmentSigner(ev.Owner()).Sign(ev)
	if err != nil {
		panic(err)
	}
	body, err := ev.MarshalJSON()
	if err != nil {
		panic(err)
	}
	return body
}

func TestDuplicateAndReorderedDeliveriesEndAtTheNewestVersion(t *testing.T) {
	t.Parallel()
	for _, b := range servicetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t, b.Open)
			c := w.newConsumer()
			w.declare(c)
			versions := map[int64]cloudevent.Event{1: w.event("x", 1), 2: w.event("x", 2), 3: w.event("x", 3)}
			for i, v := range []int64{3, 1, 3, 2, 1} {
				w.publishRaw(sequenced(versions[v], int64(i+1)))
			}
			start(t, c.Run)
			servicetest.Eventually(t, 10*time.Second, "all five deliveries to be processed", func() bool {
				return w.queueDepth(c.Queue().Name()) == 0 && count(t, w.replica, `SELECT count(*) FROM inbox`) == 3
			})
			if got := things(t, w.replica)["x"]; got != 3 {
				t.Errorf("replica holds version %d of x, want 3", got)
			}
			if n := count(t, w.replica, `SELECT count(*) FROM effects`); n != 1 {
				t.Errorf("handler ran %d times, want once (v3 first; v1 and v2 are stale, the rest duplicates)", n)
			}
		})
	}
}

// Apply is the path the queue and the bootstrap share; without the broker each
// outcome can be seen.
func TestApplyOutcomes(t *testing.T) {
	t.Parallel()
	for _, b := range servicetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t, b.Open)
			c := w.newConsumer()
			v1, v2, v3 := w.event("y", 1), w.event("y", 2), w.event("y", 3)
			for _, step := range []struct {
				name string
				ev   cloudevent.Event
				want consumer.Outcome
			}{
				{"v2 first", v2, consumer.Applied},
				{"v2 again", v2, consumer.Duplicate},
				{"v1 late", v1, consumer.Stale},
				{"v1 again", v1, consumer.Duplicate},
				{"v3 next", v3, consumer.Applied},
				{"a type without a handler", otherType(w, "y"), consumer.Ignored},
			} {
				got, err := c.Apply(context.Background(), step.ev)
				if err != nil {
					t.Fatalf("%s: %v", step.name, err)
				}
				if got != step.want {
					t.Errorf("%s: outcome %s, want %s", step.name, got, step.want)
				}
			}
			if got := things(t, w.replica)["y"]; got != 3 {
				t.Errorf("replica holds version %d, want 3", got)
			}
		})
	}
}

// otherType is an event of a type the consumer has no handler for, as after a
// move from v1 to v2 while the old binding is still on the queue.
func otherType(w *world, subject string) cloudevent.Event {
	ev, err := cloudevent.New("/scs-"+w.owner, w.owner+".thing.changed.v2", subject, 9, map[string]string{})
	must(w.t, err)
	return ev
}
