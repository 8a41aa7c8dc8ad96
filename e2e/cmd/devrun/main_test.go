package main

import (
	"context"
	"io"
	"testing"
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
