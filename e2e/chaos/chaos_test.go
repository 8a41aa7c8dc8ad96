package chaos

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/scs-platform/e2e/platform"
)

func TestMain(m *testing.M) {
	code := m.Run()
	platform.Cleanup()
	os.Exit(code)
}

// requireChaos skips the test unless SCS_CHAOS=1: these tests restart the
// broker (or run beside a test that does), which would break every other test
// using it at the same time.
func requireChaos(t *testing.T) {
	t.Helper()
	if os.Getenv("SCS_CHAOS") != "1" {
		t.Skip("e2e/chaos restarts RabbitMQ, which disturbs every test using it meanwhile: its tests run only with SCS_CHAOS=1, alone (make chaos)")
	}
}

// options lift the sign-up limit per client address: every account of a test
// signs up from 127.0.0.1, and the limit is not what is tested.
var options = platform.Options{Env: map[string]string{"LIMIT_SIGNUP_PER_IP": "1000000/1ms"}}

// The stream's size: accounts, renames of them, and the goroutines that send
// the renames.
const (
	accountCount = 100
	changeCount  = 10_000
	workerCount  = 4
)

// TestReplicasConvergeAfterCrashesAndABrokerRestart streams 10,000 renames of
// 100 accounts through the front door and, while they flow, restarts
// RabbitMQ; kills scs-users (its outbox relay with it) while the relay
// publishes the backlog the broker's absence left; kills scs-chat and
// scs-cards twice each, the second time while they catch up; and finally kills
// all three at once, always with SIGKILL, starting each again. Afterwards
// scs-users holds every rename it confirmed, the users replicas of scs-chat
// and scs-cards equal scs-users' users table, their inboxes hold every event
// of its outbox, and no dead-letter queue holds an event.
func TestReplicasConvergeAfterCrashesAndABrokerRestart(t *testing.T) {
	requireChaos(t)
	p := platform.Start(t, options)
	p.WaitReady(t)

	started := time.Now()
	accounts := signUp(t, p.URL, accountCount)
	t.Logf("%d sign-ups took %s", accountCount, time.Since(started).Round(time.Millisecond))
	// The replicas know every account before the stream, so that what follows
	// measures the stream's changes alone.
	converge(t, p, time.Minute, "chat", "cards")

	tally := counters{}
	s := startStream(p.URL, accounts, changeCount, workerCount, 1_500)
	streamStarted := time.Now()

	// The broker goes away. scs-users keeps confirming renames meanwhile:
	// they wait in its outbox.
	s.reach(t, 1_000)
	stopBroker(t, p.AMQPURL)
	brokerDown := time.Now()
	s.advance(t, 500)
	backlog := counters{}
	backlog.scrape(t, p.Direct["users"][0])
	startBroker(t, p.AMQPURL)
	t.Logf("RabbitMQ was stopped for %s (stop_app to accepting connections after start_app); %.0f events waited in scs-users' outbox",
		time.Since(brokerDown).Round(time.Millisecond), backlog.sum("outbox_backlog"))

	// scs-users crashes, relay and all, once the relay (back from its
	// reconnect back-off) publishes that backlog: what it published but had
	// not yet marked sent is published again by the next run. The stream
	// retries until scs-users answers.
	s.allow(2_000)
	killed := killWhen(t, p, "users", "its relay publishing the backlog", tally, func(c counters) bool {
		return c.sum("outbox_published_total") > backlog.sum("outbox_published_total")
	})
	usersDown := time.Now()
	p.Restart(t, "users")
	t.Logf("scs-users was killed with %.0f events unsent and answered /healthz again %s later",
		killed.sum("outbox_backlog"), time.Since(usersDown).Round(time.Millisecond))

	// Each consumer crashes, its queue collects what it misses, and it
	// crashes again while it catches up: with deliveries in its hands,
	// applied but not acknowledged, or not yet applied.
	for _, name := range []string{"chat", "cards"} {
		s.advance(t, 500)
		tally.scrape(t, p.Direct[name][0])
		p.Kill(t, name)
		s.advance(t, 500)
		p.Restart(t, name)
		queue := `queue="` + name + `.from-users"`
		killed := killWhen(t, p, name, "it catching up", tally, func(c counters) bool {
			return c.sum("consumer_events_total", queue) > 0
		})
		t.Logf("scs-%s was killed, missed at least 500 renames, and was killed again %.0f events into its catch-up", name,
			killed.sum("consumer_events_total", queue))
		p.Restart(t, name)
	}

	// Every system crashes at once (a host going down, but with the page
	// cache intact: SQLite's commits survive a killed process, not a lost
	// disk cache).
	s.advance(t, 500)
	for _, name := range []string{"users", "chat", "cards"} {
		tally.scrape(t, p.Direct[name][0])
		p.Kill(t, name)
	}
	for _, name := range []string{"users", "chat", "cards"} {
		p.Restart(t, name)
	}
	t.Logf("the faults were over at %d of %d confirmed renames", s.confirmed.Load(), changeCount)
	s.allow(changeCount)

	s.wait(t)
	streamTook := time.Since(streamStarted)
	if got := s.confirmed.Load(); got != changeCount {
		t.Fatalf("the stream confirmed %d renames, want %d", got, changeCount)
	}

	took, source, events := converge(t, p, 2*time.Minute, "chat", "cards")

	// No confirmed rename is lost in scs-users itself, crash or not: each
	// account is called what its last confirmed rename called it.
	names, err := read(context.Background(), p.DatabasePath(t, "users"), `SELECT email, display_name FROM users ORDER BY email`)
	if err != nil {
		t.Fatal(err)
	}
	stored := map[string]string{}
	for _, row := range names.rows {
		email, name, _ := strings.Cut(row, "\t")
		stored[email] = name
	}
	for _, a := range accounts {
		if stored[a.email] != a.last {
			t.Errorf("scs-users calls %s %q, but the last rename it confirmed was to %q", a.email, stored[a.email], a.last)
		}
	}

	for q, n := range queueDepths(t, p.AMQPURL, deadLetterQueues...) {
		if n != 0 {
			t.Errorf("%s holds %d messages, want 0: a consumer gave up on an event", q, n)
		}
	}

	for _, name := range []string{"users", "chat", "cards"} {
		tally.scrape(t, p.Direct[name][0])
	}
	t.Logf("%d accounts, %d renames confirmed in %s (%d attempts refused while scs-users was down and repeated)",
		accountCount, s.confirmed.Load(), streamTook.Round(time.Millisecond), s.refused.Load())
	t.Logf("replicas equal to the source (%d users, sha256 %s) and inboxes holding its %d events %s after the last confirmed rename",
		len(source.rows), source.hash[:16], events, took.Round(time.Millisecond))
	t.Logf("scs-users' relay: %.0f events published and confirmed, publishes repeated: %.0f after no confirm, %.0f after an error, %.0f after a nack (summed over each run's last scrape: a killed run's last moments are missing)",
		tally.sum("outbox_published_total"), tally.sum("outbox_publish_failures_total", `reason="timeout"`),
		tally.sum("outbox_publish_failures_total", `reason="error"`), tally.sum("outbox_publish_failures_total", `reason="nack"`))
	for _, q := range []string{"chat.from-users", "cards.from-users"} {
		t.Log(tally.consumerReport(q) + " (summed likewise)")
	}
}
