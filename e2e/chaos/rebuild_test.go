package chaos

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"testing"
	"time"

	"github.com/scs-platform/shared-events/testkit/servicetest"

	"github.com/scs-platform/e2e/platform"
)

// TestChatRebuildsItsReplicaFromAnEmptyDatabase loses scs-chat's database
// (the file with its -wal and -shm) while renames go on waiting in its queue:
// started again, scs-chat catches up from scs-users' feed, then from its
// queue, whose events the feed already brought and which change nothing; its
// replica equals scs-users' users again and its inbox holds every event of
// scs-users' outbox. Renames made afterwards arrive too.
//
// It does not touch the broker, but it shares the gate of the package, so
// that the package runs once, alone, in "make chaos".
func TestChatRebuildsItsReplicaFromAnEmptyDatabase(t *testing.T) {
	requireChaos(t)
	p := platform.Start(t, options)
	p.WaitReady(t)
	accounts := signUp(t, p.URL, 10)
	s := startStream(p.URL, accounts, 300, 2, 300)
	s.wait(t)
	converge(t, p, time.Minute, "chat", "cards")

	p.Stop(t, "chat")
	// These wait in chat.from-users: the rebuilt replica meets them twice,
	// in the feed and in the queue.
	s = startStream(p.URL, accounts, 100, 2, 100)
	s.wait(t)
	// scs-users confirmed them; its relay publishes them a moment later.
	var queued int
	servicetest.Eventually(t, 30*time.Second, "the 100 renames to reach chat.from-users", func() bool {
		queued = queueDepths(t, p.AMQPURL, "chat.from-users")["chat.from-users"]
		return queued >= 100
	})
	if queued != 100 {
		t.Fatalf("chat.from-users holds %d events while scs-chat is stopped, want the 100 renames", queued)
	}
	db := p.DatabasePath(t, "chat")
	if err := os.Remove(db); err != nil {
		t.Fatalf("remove scs-chat's database: %v", err)
	}
	for _, f := range []string{db + "-wal", db + "-shm"} {
		// A clean shutdown checkpoints the WAL and removes both files.
		if err := os.Remove(f); err != nil && !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("remove %s: %v", f, err)
		}
	}

	p.Restart(t, "chat")
	took, source, events := converge(t, p, time.Minute, "chat")
	t.Logf("scs-chat's rebuilt replica equals the source (%d users, sha256 %s) and its inbox holds the %d events %s after its start",
		len(source.rows), source.hash[:16], events, took.Round(time.Millisecond))
	bootstrapped, err := read(context.Background(), db, `SELECT owner FROM replication_state`)
	if err != nil {
		t.Fatal(err)
	}
	if len(bootstrapped.rows) != 1 || bootstrapped.rows[0] != "users" {
		t.Errorf("scs-chat's replication_state holds %q, want one row for users: the replica did not catch up from the feed", bootstrapped.rows)
	}
	// The queued events come after the feed, and the inbox knows them all.
	servicetest.Eventually(t, 30*time.Second, "scs-chat to consume the queued events", func() bool {
		c := counters{}
		c.scrape(t, p.Direct["chat"][0])
		return c.sum("consumer_events_total", `queue="chat.from-users"`, `outcome="duplicate"`) >= float64(queued)
	})
	c := counters{}
	c.scrape(t, p.Direct["chat"][0])
	if dup := c.sum("consumer_events_total", `queue="chat.from-users"`, `outcome="duplicate"`); dup != float64(queued) {
		t.Errorf("scs-chat counted %.0f duplicates, want the %d queued events the feed had already brought", dup, queued)
	}
	t.Log(c.consumerReport("chat.from-users"))

	s = startStream(p.URL, accounts, 50, 2, 50)
	s.wait(t)
	converge(t, p, time.Minute, "chat", "cards")
	if depth := queueDepths(t, p.AMQPURL, deadLetterQueues...); depth["chat.from-users.dead"] != 0 {
		t.Errorf("chat.from-users.dead holds %d messages, want 0", depth["chat.from-users.dead"])
	}
}
