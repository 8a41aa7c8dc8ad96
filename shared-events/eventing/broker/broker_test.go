package broker_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/scs-platform/shared-events/eventing/broker"
	"github.com/scs-platform/shared-events/testkit/servicetest"
)

func TestDialSaysWhichBrokerIsUnreachable(t *testing.T) {
	t.Parallel()
	_, err := broker.Dial(context.Background(), "amqp://guest:secret@127.0.0.1:1/", "test")
	var ue *broker.UnreachableError
	if !errors.As(err, &ue) {
		t.Fatalf("Dial = %v, want an UnreachableError", err)
	}
	msg := err.Error()
	if !strings.Contains(msg, "cannot reach RabbitMQ at amqp://guest:xxxxx@127.0.0.1:1/") || strings.Contains(msg, "secret") {
		t.Errorf("error %q should name the URL without its password", msg)
	}
}

func TestRunnerRunsTheSessionAgainAfterTheConnectionDies(t *testing.T) {
	t.Parallel()
	url := servicetest.AMQPURL(t)
	r := &broker.Runner{URL: url, Name: "runner-test", Logger: slog.New(slog.DiscardHandler), MaxBackoff: 200 * time.Millisecond}
	var sessions atomic.Int32
	conns := make(chan *amqp.Connection, 10)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- r.Run(ctx, func(ctx context.Context, conn *amqp.Connection) error {
			sessions.Add(1)
			conns <- conn
			<-ctx.Done()
			return ctx.Err()
		})
	}()
	first := <-conns
	servicetest.Eventually(t, 20*time.Second, "the runner to report a connection", r.Connected)
	// The connection dies under the session: the session's context ends and the
	// runner dials again.
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-conns:
	case <-time.After(10 * time.Second):
		t.Fatal("the runner did not start a second session after the connection closed")
	}
	if n := sessions.Load(); n != 2 {
		t.Errorf("%d sessions, want 2", n)
	}
	if r.LastError() == nil {
		t.Error("LastError is nil after a session ended")
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run = %v after cancel, want nil", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
}

func TestRunnerBacksOffWhileTheBrokerIsUnreachable(t *testing.T) {
	t.Parallel()
	r := &broker.Runner{URL: "amqp://guest:guest@127.0.0.1:1/", Name: "down", Logger: slog.New(slog.DiscardHandler), MaxBackoff: 50 * time.Millisecond}
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	if err := r.Run(ctx, func(context.Context, *amqp.Connection) error { t.Error("session ran without a broker"); return nil }); err != nil {
		t.Errorf("Run = %v, want nil once ctx ends", err)
	}
	if r.Connected() {
		t.Error("Connected is true without a broker")
	}
	var ue *broker.UnreachableError
	if !errors.As(r.LastError(), &ue) {
		t.Errorf("LastError = %v, want the UnreachableError", r.LastError())
	}
}
