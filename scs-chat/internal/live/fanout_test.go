package live

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/scs-platform/shared-events/eventing/broker"
	"github.com/scs-platform/shared-events/testkit/servicetest"
)

// testKey is the instances' shared key in the tests.
var testKey = []byte("the instances' key, 32 bytes long")

// startInstance runs one instance of scs-chat's live layer on the broker, on
// the real exchange (chat.live) of the test's own virtual host.
func startInstance(t *testing.T, amqpURL string, backend Backend) *testServer {
	t.Helper()
	logger := slog.New(slog.DiscardHandler)
	ts := startServer(t, Config{
		Backend:    backend,
		Key:        testKey,
		Subscriber: &broker.Runner{URL: amqpURL, Name: "live-test-subscriber", Logger: logger, MaxBackoff: 200 * time.Millisecond},
		Publisher:  &broker.Runner{URL: amqpURL, Name: "live-test-publisher", Logger: logger, MaxBackoff: 200 * time.Millisecond},
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ts.hub.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run = %v", err)
		}
	})
	return ts
}

func TestAMessageSentThroughOneInstanceReachesThePartnerOnAnother(t *testing.T) {
	t.Parallel()
	amqpURL := servicetest.AMQPURL(t)
	backend := newFakeBackend(map[string][]string{"c1": {"alice", "bob"}})
	one := startInstance(t, amqpURL, backend)
	two := startInstance(t, amqpURL, backend.sameStore())
	if one.hub.Instance() == two.hub.Instance() {
		t.Fatal("two hubs with one instance id")
	}
	servicetest.Eventually(t, readTimeout, "both instances to bind to the exchange", func() bool { return one.hub.Connected() && two.hub.Connected() })
	alice := one.dial(t, "alice")
	aliceOnTwo := two.dial(t, "alice")
	bob := two.dial(t, "bob")
	servicetest.Eventually(t, readTimeout, "the connections", func() bool {
		return one.hub.Connections("alice") == 1 && two.hub.Connections("alice") == 1 && two.hub.Connections("bob") == 1
	})

	alice.write(ClientFrame{Type: FrameSend, Conversation: "c1", ClientID: "k1", Text: "over there?"})
	msg := serverFrame{Type: "message", Conversation: "c1", Seq: 1, From: "alice", ClientID: "k1", Text: "over there?", SentAt: "2025-06-01T12:00:00.123456789Z"}
	alice.expect(msg)
	alice.expect(serverFrame{Type: "ack", ClientID: "k1", Seq: 1})
	bob.expect(msg)
	aliceOnTwo.expect(msg)

	// Instance one saw its own publication come back from the exchange before
	// this marker from instance two (one queue, in order): had it delivered it
	// again, alice would read the message a second time before the marker.
	if err := two.hub.Deliver(context.Background(), []string{"alice"}, Matched("/chat/conversations/marker")); err != nil {
		t.Fatal(err)
	}
	marker := serverFrame{Type: "matched", URL: "/chat/conversations/marker"}
	alice.expect(marker)
	aliceOnTwo.expect(marker)
	bob.pingPong()

	if n := metricValue(t, two.hub, "chat_live_remote_frames_total"); n != 1 {
		t.Errorf("instance two delivered %v frames from others, want 1", n)
	}
	if n := metricValue(t, one.hub, "chat_live_remote_frames_total"); n != 1 {
		t.Errorf("instance one delivered %v frames from others, want 1 (the marker)", n)
	}
	// The publisher counts a publication once the broker took it, which can be
	// a moment after the other instance delivered it (seen under load).
	servicetest.Eventually(t, readTimeout, "instance one to count its one publication", func() bool {
		return metricValue(t, one.hub, "chat_live_published_total") == 1
	})
}

// Frames delivered at once on one instance, from many goroutines (many
// users' sends), all reach the other instance: none is taken there for a
// replay because a later-counted publication overtook it on the way to the
// publisher.
func TestFramesDeliveredAtOnceAllReachTheOtherInstance(t *testing.T) {
	t.Parallel()
	amqpURL := servicetest.AMQPURL(t)
	one := startInstance(t, amqpURL, newFakeBackend(nil))
	two := startInstance(t, amqpURL, newFakeBackend(nil))
	servicetest.Eventually(t, readTimeout, "both instances to bind to the exchange", func() bool { return one.hub.Connected() && two.hub.Connected() })

	const senders, each = 8, 100 // within DefaultPublishQueue
	var wg sync.WaitGroup
	for i := range senders {
		wg.Go(func() {
			for j := range each {
				if err := one.hub.Deliver(context.Background(), []string{"bob"}, Matched(fmt.Sprintf("/chat/conversations/c%d-%d", i, j))); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	servicetest.Eventually(t, readTimeout, "every publication at instance two, delivered or refused", func() bool {
		return metricValue(t, two.hub, "chat_live_remote_frames_total")+metricValue(t, two.hub, "chat_live_refused_publications_total") == senders*each
	})
	if n := metricValue(t, two.hub, "chat_live_refused_publications_total"); n != 0 {
		t.Errorf("instance two refused %v of instance one's %d publications", n, senders*each)
	}
	if n := metricValue(t, one.hub, "chat_live_dropped_publishes_total"); n != 0 {
		t.Errorf("instance one dropped %v publications", n)
	}
}

func TestCloseReachesTheUsersConnectionsOnAnotherInstance(t *testing.T) {
	t.Parallel()
	amqpURL := servicetest.AMQPURL(t)
	one := startInstance(t, amqpURL, newFakeBackend(nil))
	two := startInstance(t, amqpURL, newFakeBackend(nil))
	servicetest.Eventually(t, readTimeout, "both instances to bind to the exchange", func() bool { return one.hub.Connected() && two.hub.Connected() })
	bob := two.dial(t, "bob")
	carol := two.dial(t, "carol")
	servicetest.Eventually(t, readTimeout, "the connections", func() bool { return two.hub.Connections("bob") == 1 && two.hub.Connections("carol") == 1 })

	one.hub.Close("bob", "your account was deleted")
	bob.expectClosed(StatusSessionEnded, "your account was deleted")
	carol.pingPong()
}

func TestTheLocalVariantsStayOnTheirInstance(t *testing.T) {
	t.Parallel()
	amqpURL := servicetest.AMQPURL(t)
	one := startInstance(t, amqpURL, newFakeBackend(nil))
	two := startInstance(t, amqpURL, newFakeBackend(nil))
	servicetest.Eventually(t, readTimeout, "both instances to bind to the exchange", func() bool { return one.hub.Connected() && two.hub.Connected() })
	bobOnOne := one.dial(t, "bob")
	bob := two.dial(t, "bob")
	servicetest.Eventually(t, readTimeout, "the connections", func() bool { return one.hub.Connections("bob") == 1 && two.hub.Connections("bob") == 1 })

	ctx := context.Background()
	if err := one.hub.DeliverLocal("bob", Ended("c1", "partner")); err != nil {
		t.Fatal(err)
	}
	bobOnOne.expect(serverFrame{Type: "ended", Conversation: "c1", By: "partner"})
	one.hub.CloseLocal("bob", "your account changed")
	bobOnOne.expectClosed(StatusSessionEnded, "your account changed")
	// Had either gone to the broker, it would have reached instance two before
	// this marker, published after them.
	if err := one.hub.Deliver(ctx, []string{"bob"}, Matched("/chat/conversations/marker")); err != nil {
		t.Fatal(err)
	}
	bob.expect(serverFrame{Type: "matched", URL: "/chat/conversations/marker"})
	bob.pingPong()
}

func TestDeliverWorksLocallyWhileTheBrokerIsDown(t *testing.T) {
	t.Parallel()
	logs := &logBuffer{}
	down := "amqp://guest:guest@127.0.0.1:1/"
	ts := startServer(t, Config{
		Logger:     logs.logger(),
		Key:        testKey,
		Subscriber: &broker.Runner{URL: down, Name: "down", Logger: slog.New(slog.DiscardHandler)},
		Publisher:  &broker.Runner{URL: down, Name: "down", Logger: slog.New(slog.DiscardHandler)},
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { ts.hub.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	alice := ts.dial(t, "alice")
	servicetest.Eventually(t, readTimeout, "alice to connect", func() bool { return ts.hub.Connections("alice") == 1 })

	for range 3 {
		if err := ts.hub.Deliver(context.Background(), []string{"alice"}, Matched("/chat/conversations/c1")); err != nil {
			t.Fatal(err)
		}
		alice.expect(serverFrame{Type: "matched", URL: "/chat/conversations/c1"})
	}
	if ts.hub.Connected() {
		t.Error("Connected without a broker")
	}
	if n := metricValue(t, ts.hub, "chat_live_dropped_publishes_total"); n != 3 {
		t.Errorf("chat_live_dropped_publishes_total = %v, want 3", n)
	}
	// One warning, not one per frame.
	if n := strings.Count(logs.String(), "frames are delivered on this instance only"); n != 1 {
		t.Errorf("%d warnings about dropped publications, want 1:\n%s", n, logs.String())
	}
}

func TestDeliverDropsWhatThePublishQueueCannotTake(t *testing.T) {
	t.Parallel()
	ts := startServer(t, Config{
		PublishQueue: 2,
		Key:          testKey,
		Subscriber:   &broker.Runner{},
		Publisher:    &broker.Runner{},
	})
	// A publisher that is connected but stuck, as in a broker's resource alarm.
	ts.hub.publishing.Store(true)
	for range 5 {
		if err := ts.hub.Deliver(context.Background(), []string{"alice"}, Matched("/chat/conversations/c1")); err != nil {
			t.Fatal(err)
		}
	}
	if n := metricValue(t, ts.hub, "chat_live_dropped_publishes_total"); n != 3 {
		t.Errorf("chat_live_dropped_publishes_total = %v, want 3", n)
	}
	if n := len(ts.hub.publications); n != 2 {
		t.Errorf("%d publications queued, want 2", n)
	}
}

// intruderScene is one instance with bob connected, and a channel of someone
// else who may publish to the instances' exchange.
func intruderScene(t *testing.T) (one *testServer, bob *client, exchange string, ch *amqp.Channel) {
	t.Helper()
	amqpURL := servicetest.AMQPURL(t)
	exchange = DefaultExchange
	one = startInstance(t, amqpURL, newFakeBackend(nil))
	servicetest.Eventually(t, readTimeout, "the instance to bind to the exchange", func() bool { return one.hub.Connected() })
	bob = one.dial(t, "bob")
	servicetest.Eventually(t, readTimeout, "the connection", func() bool { return one.hub.Connections("bob") == 1 })
	conn, err := amqp.Dial(amqpURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	if ch, err = conn.Channel(); err != nil {
		t.Fatal(err)
	}
	return one, bob, exchange, ch
}

// TestAPublicationNoInstanceMadeIsDropped plays whoever else can publish to
// the exchange (the broker's administrator): a made-up message for bob, and an
// order to close his connections, without the instances' key or with another.
func TestAPublicationNoInstanceMadeIsDropped(t *testing.T) {
	t.Parallel()
	one, bob, exchange, ch := intruderScene(t)
	forged := []string{
		`{"instance":"intruder","to":["bob"],"frame":{"type":"message","conversation":"c1","seq":99,"from":"alice","text":"send me your password"}}`,
		`{"instance":"intruder","close":{"user":"bob","reason":"bye"}}`,
	}
	for i, body := range forged {
		headers := amqp.Table{}
		if i == 1 {
			other := &Hub{cfg: Config{Key: []byte("another key that is 32 bytes long")}}
			headers[headerMAC] = other.mac([]byte(body))
		}
		if err := ch.PublishWithContext(context.Background(), exchange, "", false, false, amqp.Publishing{Headers: headers, Body: []byte(body)}); err != nil {
			t.Fatal(err)
		}
	}
	servicetest.Eventually(t, readTimeout, "both publications to be refused", func() bool {
		return metricValue(t, one.hub, "chat_live_refused_publications_total") == 2
	})
	// Bob's connection is open and got nothing: the next frame he reads is
	// the pong.
	bob.pingPong()
	if n := metricValue(t, one.hub, "chat_live_remote_frames_total"); n != 0 {
		t.Errorf("the instance delivered %v forged frames", n)
	}
}

func TestAHubOnTheBrokerNeedsAKey(t *testing.T) {
	t.Parallel()
	_, err := NewHub(Config{Backend: newFakeBackend(nil), Subscriber: &broker.Runner{}, Publisher: &broker.Runner{}})
	if err == nil || !strings.Contains(err.Error(), "Config.Key") {
		t.Errorf("NewHub without a key = %v, want a refusal", err)
	}
}

// TestAGenuinePublicationReplayedIsDropped plays whoever can publish to the
// exchange and kept a copy of a genuine publication (with its MAC): sent
// again, or sent after the queue's TTL, it is refused.
func TestAGenuinePublicationReplayedIsDropped(t *testing.T) {
	t.Parallel()
	one, bob, exchange, ch := intruderScene(t)
	send := func(e envelope) {
		t.Helper()
		body, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		headers := amqp.Table{headerMAC: one.hub.mac(body)}
		if err := ch.PublishWithContext(context.Background(), exchange, "", false, false, amqp.Publishing{Headers: headers, Body: body}); err != nil {
			t.Fatal(err)
		}
	}
	matched := Matched("/chat/conversations/old")
	genuine := envelope{Instance: "other-instance", At: time.Now().UnixMilli(), Seq: 7, To: []string{"bob"}, Frame: matched}
	send(genuine)
	bob.expect(serverFrame{Type: "matched", URL: "/chat/conversations/old"})
	send(genuine) // the same publication again
	stale := genuine
	stale.Seq, stale.At = 8, time.Now().Add(-time.Minute).UnixMilli()
	send(stale) // an old one never seen
	servicetest.Eventually(t, readTimeout, "the replays to be refused", func() bool {
		return metricValue(t, one.hub, "chat_live_refused_publications_total") == 2
	})
	bob.pingPong()
	if n := metricValue(t, one.hub, "chat_live_remote_frames_total"); n != 1 {
		t.Errorf("the instance delivered %v frames from others, want the genuine one alone", n)
	}
}
