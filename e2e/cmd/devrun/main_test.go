package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"net/url"
	"strings"
	"testing"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/scs-platform/shared-events/eventing/broker"
	"github.com/scs-platform/shared-events/eventing/provision"
	"github.com/scs-platform/shared-events/testkit/servicetest"
)

func TestBrokerUnreachable(t *testing.T) {
	getenv := func(k string) string {
		if k == "AMQP_URL" {
			return "amqp://guest:guest@127.0.0.1:1/"
		}
		return ""
	}
	err := run(context.Background(), []string{"devrun"}, getenv, io.Discard, io.Discard)
	want := `RabbitMQ is not reachable at amqp://guest:xxxxx@127.0.0.1:1/; start one with "rabbitmq-server -detached" (or "docker run -p 5672:5672 rabbitmq:4-management") and try again.`
	if err == nil || err.Error() != want {
		t.Errorf("run = %v\nwant %s", err, want)
	}
}

// With rabbitmqctl, each system gets a user of its own in devrun's virtual host,
// with its own permissions only, and the users go when devrun stops.
func TestEachSystemGetsItsOwnBrokerUser(t *testing.T) {
	base := servicetest.BrokerURL(t)
	if err := provision.Available(context.Background()); err != nil {
		servicetest.Unavailable(t, "rabbitmqctl", err)
	}
	vhost := "devrun-" + strings.ToLower(rand.Text()[:12])
	t.Cleanup(func() { _ = provision.DeleteVHost(context.Background(), vhost) })
	var out bytes.Buffer
	urls, remove := brokerUsers(context.Background(), base, vhost, &out)
	removed := false
	t.Cleanup(func() {
		if !removed {
			remove()
		}
	})
	if want := "Each system connects as its own broker user in the virtual host " + vhost + ".\n"; out.String() != want {
		t.Errorf("devrun says %q, want %q", out.String(), want)
	}
	seen := map[string]bool{}
	for _, s := range systems {
		u, err := url.Parse(urls[s.name])
		if err != nil || u.Path != "/"+vhost || seen[u.User.Username()] {
			t.Fatalf("scs-%s's AMQP URL %s is not a user of its own in %s", s.name, broker.Redact(urls[s.name]), vhost)
		}
		seen[u.User.Username()] = true
	}
	conn, err := amqp.Dial(urls["chat"])
	if err != nil {
		t.Fatalf("chat's user cannot log in: %v", err)
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	// The exchanges exist (provisioned); chat may not delete users'.
	err = ch.ExchangeDelete("users.events", false, false)
	var ae *amqp.Error
	if !errors.As(err, &ae) || ae.Code != amqp.AccessRefused {
		t.Errorf("chat deleting users.events: %v, want ACCESS_REFUSED", err)
	}
	remove()
	removed = true
	if _, err := amqp.Dial(urls["chat"]); err == nil {
		t.Error("chat's user still logs in after devrun removed it")
	}
}

// Without rabbitmqctl, every system gets the given URL, and devrun says so in
// one line.
func TestWithoutRabbitmqctlEverySystemUsesTheGivenURL(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	const given = "amqp://dev:secret@broker.example:5672/"
	var out bytes.Buffer
	urls, remove := brokerUsers(context.Background(), given, "scs-dev", &out)
	defer remove()
	for _, s := range systems {
		if urls[s.name] != given {
			t.Errorf("scs-%s gets %s, want the given URL", s.name, broker.Redact(urls[s.name]))
		}
	}
	said := out.String()
	if strings.Count(said, "\n") != 1 || !strings.HasPrefix(said, "Every system connects as the user of amqp://dev:xxxxx@broker.example:5672/: no broker user of its own (") {
		t.Errorf("devrun says %q, want one line on the fallback", said)
	}
	if strings.Contains(said, "secret") {
		t.Errorf("devrun prints the password: %q", said)
	}
}
