package chaos

import (
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

// The broker is restarted with "rabbitmqctl stop_app" and "start_app": the
// RabbitMQ application stops inside a living Erlang node, which closes every
// client connection, and starts again, recovering its virtual hosts, durable
// exchanges and quorum queues from disk (the quorum queues replay their Raft
// log). That is what a consumer and a relay see of a broker restart. A full
// node restart ("rabbitmqctl stop", then "rabbitmq-server -detached") would
// also replace the Erlang VM, but a test that stops the node cannot be sure to
// bring it back the way this machine's service manager (or CI's .ci/run)
// started it, as its user and with its environment; and a node left down
// breaks every later test. stop_app always leaves a node that start_app
// brings back.

// stopBroker stops the RabbitMQ application, and makes sure it runs again
// when the test ends, failed or not, before the test's virtual host is
// deleted (cleanups run last-registered first, and the platform registered
// the deletion when it started).
func stopBroker(t *testing.T, amqpURL string) {
	t.Helper()
	t.Cleanup(func() { startBroker(t, amqpURL) })
	rabbitmqctl(t, "stop_app")
}

// startBroker starts the RabbitMQ application (a no-op if it runs) and waits
// until amqpURL accepts a connection.
func startBroker(t *testing.T, amqpURL string) {
	t.Helper()
	rabbitmqctl(t, "start_app")
	deadline := time.Now().Add(time.Minute)
	for {
		conn, err := amqp.DialConfig(amqpURL, amqp.Config{Dial: amqp.DefaultDial(3 * time.Second)})
		if err == nil {
			conn.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("RabbitMQ does not accept connections a minute after start_app: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func rabbitmqctl(t *testing.T, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "rabbitmqctl", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("rabbitmqctl %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
}
