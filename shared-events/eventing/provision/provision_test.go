package provision_test

import (
	"context"
	"crypto/rand"
	"errors"
	"log/slog"
	"os/exec"
	"strings"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/scs-platform/shared-events/eventing/broker"
	"github.com/scs-platform/shared-events/eventing/deadletter"
	"github.com/scs-platform/shared-events/eventing/provision"
	"github.com/scs-platform/shared-events/eventing/topology"
	"github.com/scs-platform/shared-events/testkit/servicetest"
)

const (
	registered = "users.user.registered.v1"
	reported   = "chat.report.filed.v1"
)

// platform is a virtual host of the test's own with a user per system,
// provisioned as the e2e platform and make run do, and deleted with them when
// the test ends.
type platform struct {
	vhost string
	urls  map[string]string
	conns map[string]*amqp.Connection
}

func newPlatform(t *testing.T) *platform {
	t.Helper()
	base := servicetest.BrokerURL(t)
	ctx := context.Background()
	if err := provision.Available(ctx); err != nil {
		servicetest.Unavailable(t, "rabbitmqctl (to make users and a virtual host)", err)
	}
	p := &platform{vhost: "perm-" + strings.ToLower(rand.Text()[:12]), urls: map[string]string{}, conns: map[string]*amqp.Connection{}}
	if err := provision.AddVHost(ctx, p.vhost); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := provision.DeleteVHost(context.Background(), p.vhost); err != nil {
			t.Error(err)
		}
	})
	if err := provision.BoundDeadLetters(ctx, p.vhost); err != nil {
		t.Fatal(err)
	}
	users, err := provision.Users(ctx, base, p.vhost, topology.Platform)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := provision.DeleteUsers(context.Background(), users); err != nil {
			t.Error(err)
		}
	})
	for _, u := range users {
		conn, err := amqp.Dial(u.URL)
		if err != nil {
			t.Fatalf("dial as %s's user: %v", u.Identity.System, err)
		}
		t.Cleanup(func() { conn.Close() })
		p.conns[u.Identity.System] = conn
		p.urls[u.Identity.System] = u.URL
	}
	return p
}

func (p *platform) channel(t *testing.T, system string) *amqp.Channel {
	t.Helper()
	ch, err := p.conns[system].Channel()
	if err != nil {
		t.Fatalf("open a channel as %s: %v", system, err)
	}
	t.Cleanup(func() { ch.Close() })
	return ch
}

// publish publishes body to exchange with key as system and waits for the
// broker's confirm.
func (p *platform) publish(t *testing.T, system, exchange, key, body string) {
	t.Helper()
	ch := p.channel(t, system)
	if err := ch.Confirm(false); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	dc, err := ch.PublishWithDeferredConfirmWithContext(ctx, exchange, key, true, false, amqp.Publishing{Body: []byte(body), MessageId: body})
	if err != nil {
		t.Fatalf("%s publishes to %s: %v", system, exchange, err)
	}
	if ok, err := dc.WaitContext(ctx); err != nil || !ok {
		t.Fatalf("%s publishes to %s: no confirm (%v)", system, exchange, err)
	}
}

// receive waits for a message on queue, read as system, and returns its body.
func (p *platform) receive(t *testing.T, system, queue string) string {
	t.Helper()
	ch := p.channel(t, system)
	var body string
	servicetest.Eventually(t, 10*time.Second, system+" to get a message from "+queue, func() bool {
		d, ok, err := ch.Get(queue, true)
		if err != nil {
			t.Fatalf("%s gets from %s: %v", system, queue, err)
		}
		body = string(d.Body)
		return ok
	})
	return body
}

func must(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func consumerQueue(consumer, owner, typ string) topology.ConsumerQueue {
	return topology.ConsumerQueue{Consumer: consumer, Owner: owner, Types: []string{typ}}
}

// start does what each system does when it starts: its relay declares its
// exchange, its consumers their queues, chat its fanout and instance queue.
func (p *platform) start(t *testing.T) (liveQueue string) {
	t.Helper()
	for _, id := range topology.Platform {
		must(t, id.System+" declares its exchange", topology.DeclareExchange(p.channel(t, id.System), id.System))
	}
	must(t, "chat declares chat.from-users", consumerQueue("chat", "users", registered).Declare(p.channel(t, "chat")))
	must(t, "cards declares cards.from-users", consumerQueue("cards", "users", registered).Declare(p.channel(t, "cards")))
	must(t, "users declares users.from-chat", consumerQueue("users", "chat", reported).Declare(p.channel(t, "users")))

	ch := p.channel(t, "chat")
	must(t, "chat declares chat.live", ch.ExchangeDeclare("chat.live", amqp.ExchangeFanout, true, false, false, false, nil))
	liveQueue = topology.InstanceQueue("chat.live", "instance1")
	_, err := ch.QueueDeclare(liveQueue, false, true, true, false, amqp.Table{"x-queue-type": "classic"})
	must(t, "chat declares its instance queue", err)
	must(t, "chat binds its instance queue", ch.QueueBind(liveQueue, "", "chat.live", false, nil))
	return liveQueue
}

// TestEachSystemDoesItsWholeWorkWithItsOwnUser: with only its own permissions,
// each system declares its exchange and queues, publishes its events, consumes
// the events it subscribes to, dead-letters, lists and replays its dead letters,
// and passes live frames through chat.live.
func TestEachSystemDoesItsWholeWorkWithItsOwnUser(t *testing.T) {
	t.Parallel()
	p := newPlatform(t)
	liveQueue := p.start(t)

	p.publish(t, "users", "users.events", registered, "ada registered")
	for _, consumer := range []string{"chat", "cards"} {
		if got := p.receive(t, consumer, consumer+".from-users"); got != "ada registered" {
			t.Errorf("%s.from-users delivered %q, want the registration", consumer, got)
		}
	}
	p.publish(t, "chat", "chat.events", reported, "bob reported")
	if got := p.receive(t, "users", "users.from-chat"); got != "bob reported" {
		t.Errorf("users.from-chat delivered %q, want the report", got)
	}

	// chat gives up on an event, an operator lists and replays it with chat's
	// own credential, and chat gets it again.
	p.publish(t, "chat", "chat.dead-letters", "chat.from-users.dead", "ada renamed")
	ctx := context.Background()
	var letters []deadletter.Letter
	servicetest.Eventually(t, 10*time.Second, "the dead letter to be listed", func() bool {
		var err error
		letters, err = deadletter.List(ctx, p.conns["chat"], "chat.from-users", 10)
		must(t, "chat lists its dead letters", err)
		return len(letters) == 1
	})
	if letters[0].MessageID != "ada renamed" {
		t.Errorf("listed %q, want the dead letter", letters[0].MessageID)
	}
	servicetest.Eventually(t, 10*time.Second, "the listed letter to be back in chat.from-users.dead", func() bool {
		n, err := deadletter.Replay(ctx, p.conns["chat"], "chat.from-users", 10)
		must(t, "chat replays its dead letters", err)
		return n == 1
	})
	if got := p.receive(t, "chat", "chat.from-users"); got != "ada renamed" {
		t.Errorf("the replay delivered %q to chat.from-users, want the dead letter", got)
	}

	p.publish(t, "chat", "chat.live", "", "a frame")
	if got := p.receive(t, "chat", liveQueue); got != "a frame" {
		t.Errorf("chat.live delivered %q, want the frame", got)
	}
}

// TestTheBrokerRefusesWhatASystemDoesNotOwn: each attempt is refused by the
// broker itself with ACCESS_REFUSED.
func TestTheBrokerRefusesWhatASystemDoesNotOwn(t *testing.T) {
	t.Parallel()
	p := newPlatform(t)
	p.start(t)
	quorum := amqp.Table{"x-queue-type": "quorum"}
	for _, c := range []struct {
		name   string
		system string
		do     func(ch *amqp.Channel) error
	}{
		{"chat publishing to users.events", "chat", func(ch *amqp.Channel) error {
			return ch.Publish("users.events", registered, false, false, amqp.Publishing{Body: []byte("forged")})
		}},
		{"chat publishing a users. routing key to its own chat.events", "chat", func(ch *amqp.Channel) error {
			return ch.Publish("chat.events", registered, false, false, amqp.Publishing{Body: []byte("forged")})
		}},
		{"users publishing through the default exchange into chat.from-users", "users", func(ch *amqp.Channel) error {
			return ch.Publish("", "chat.from-users", false, false, amqp.Publishing{Body: []byte("forged")})
		}},
		{"chat publishing to cards' dead-letter exchange", "chat", func(ch *amqp.Channel) error {
			return ch.Publish("cards.dead-letters", "cards.from-users", false, false, amqp.Publishing{Body: []byte("forged")})
		}},
		{"chat consuming cards.from-users", "chat", func(ch *amqp.Channel) error {
			_, err := ch.Consume("cards.from-users", "", false, false, false, false, nil)
			return err
		}},
		{"chat getting from users.from-chat", "chat", func(ch *amqp.Channel) error {
			_, _, err := ch.Get("users.from-chat", false)
			return err
		}},
		{"chat purging cards.from-users", "chat", func(ch *amqp.Channel) error {
			_, err := ch.QueuePurge("cards.from-users", false)
			return err
		}},
		{"chat declaring cards.from-users", "chat", func(ch *amqp.Channel) error {
			_, err := ch.QueueDeclare("cards.from-users", true, false, false, false, quorum)
			return err
		}},
		{"chat declaring a queue of no system", "chat", func(ch *amqp.Channel) error {
			_, err := ch.QueueDeclare("chat-scratch", true, false, false, false, nil)
			return err
		}},
		{"chat declaring a server-named queue", "chat", func(ch *amqp.Channel) error {
			_, err := ch.QueueDeclare("", false, true, true, false, nil)
			return err
		}},
		{"chat deleting users.events", "chat", func(ch *amqp.Channel) error {
			return ch.ExchangeDelete("users.events", false, false)
		}},
		{"chat declaring users.events", "chat", func(ch *amqp.Channel) error {
			return ch.ExchangeDeclare("users.events", amqp.ExchangeTopic, true, false, false, false, nil)
		}},
		{"chat deleting cards.from-users", "chat", func(ch *amqp.Channel) error {
			_, err := ch.QueueDelete("cards.from-users", false, false, false)
			return err
		}},
		{"cards binding its queue to chat.events", "cards", func(ch *amqp.Channel) error {
			return ch.QueueBind("cards.from-users", reported, "chat.events", false, nil)
		}},
		{"cards binding a key that is not a users. type from users.events", "cards", func(ch *amqp.Channel) error {
			return ch.QueueBind("cards.from-users", "#", "users.events", false, nil)
		}},
		{"cards binding chat's queue to users.events", "cards", func(ch *amqp.Channel) error {
			return ch.QueueBind("chat.from-users", "users.user.renamed.v1", "users.events", false, nil)
		}},
		{"cards binding its queue to chat.live", "cards", func(ch *amqp.Channel) error {
			return ch.QueueBind("cards.from-users", "", "chat.live", false, nil)
		}},
		{"users declaring a chat.live instance queue", "users", func(ch *amqp.Channel) error {
			_, err := ch.QueueDeclare(topology.InstanceQueue("chat.live", "spy"), false, true, true, false, nil)
			return err
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			assertRefused(t, p.channel(t, c.system), c.do)
		})
	}
}

// assertRefused runs do on ch and asserts that the broker closes the channel
// with ACCESS_REFUSED. A publish returns before the broker answers, so the
// refusal is awaited as the channel's close.
func assertRefused(t *testing.T, ch *amqp.Channel, do func(*amqp.Channel) error) {
	t.Helper()
	closed := ch.NotifyClose(make(chan *amqp.Error, 1))
	err := do(ch)
	if err == nil {
		select {
		case e, ok := <-closed:
			if ok {
				err = e
			}
		case <-time.After(10 * time.Second):
			t.Fatal("the broker neither refused nor closed the channel within 10s")
		}
	}
	var ae *amqp.Error
	if !errors.As(err, &ae) || ae.Code != amqp.AccessRefused {
		t.Fatalf("got %v, want ACCESS_REFUSED (403)", err)
	}
}

// TestAConsumerWaitsForItsOwnersExchange: a consumer that starts before its
// owner fails its session in words an operator can act on, its runner tries
// again with back-off, and it declares its queue once the owner has declared
// the exchange.
func TestAConsumerWaitsForItsOwnersExchange(t *testing.T) {
	t.Parallel()
	p := newPlatform(t)
	q := consumerQueue("cards", "users", registered)
	r := &broker.Runner{URL: p.urls["cards"], Name: "cards-from-users", Logger: slog.New(slog.DiscardHandler), MaxBackoff: 200 * time.Millisecond}
	declared := make(chan struct{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = r.Run(ctx, func(ctx context.Context, conn *amqp.Connection) error {
			ch, err := conn.Channel()
			if err != nil {
				return err
			}
			if err := q.Declare(ch); err != nil {
				return err
			}
			close(declared)
			<-ctx.Done()
			return nil
		})
	}()
	t.Cleanup(func() { cancel(); <-done })

	want := "users.events does not exist yet: scs-users declares it when it starts, or the broker's definitions do"
	servicetest.Eventually(t, 10*time.Second, "the session to fail for want of users.events", func() bool {
		return r.LastError() != nil
	})
	if err := r.LastError(); !errors.Is(err, topology.ErrOwnerExchangeMissing) || err.Error() != want {
		t.Errorf("the session failed with %q, want %q", err, want)
	}
	must(t, "users declares its exchange", topology.DeclareExchange(p.channel(t, "users"), "users"))
	select {
	case <-declared:
	case <-time.After(10 * time.Second):
		t.Fatalf("cards did not declare its queue within 10s of users.events; last error: %v", r.LastError())
	}
}

// TestEveryDeadLetterQueueIsBounded: refused events could otherwise fill the
// broker's disk (topology.DeadLetterBound); the consumer queues are not
// touched by the policy.
func TestEveryDeadLetterQueueIsBounded(t *testing.T) {
	t.Parallel()
	p := newPlatform(t)
	p.start(t)
	out, err := exec.Command("rabbitmqctl", "-q", "list_queues", "-p", p.vhost, "name", "policy").CombinedOutput()
	if err != nil {
		t.Fatalf("rabbitmqctl list_queues: %v: %s", err, out)
	}
	policies := map[string]string{}
	for line := range strings.Lines(string(out)) {
		if f := strings.Fields(line); len(f) >= 1 {
			policies[f[0]] = strings.Join(f[1:], " ")
		}
	}
	for _, q := range []string{"chat.from-users.dead", "cards.from-users.dead", "users.from-chat.dead"} {
		if policies[q] != topology.DeadLetterBound.Name {
			t.Errorf("%s has policy %q, want %s", q, policies[q], topology.DeadLetterBound.Name)
		}
	}
	for _, q := range []string{"chat.from-users", "cards.from-users", "users.from-chat"} {
		if policies[q] != "" {
			t.Errorf("%s has policy %q, want none", q, policies[q])
		}
	}
}
