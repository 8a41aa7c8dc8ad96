package deadletter_test

import (
	"bytes"
	"errors"
	"flag"
	"strings"
	"testing"

	"github.com/scs-platform/shared-events/eventing/broker"
	"github.com/scs-platform/shared-events/eventing/deadletter"
	"github.com/scs-platform/shared-events/eventing/topology"
	"github.com/scs-platform/shared-events/testkit/servicetest"
)

// TestCommandRefuses covers what fails before the broker is asked.
func TestCommandRefuses(t *testing.T) {
	t.Parallel()
	queues := []string{"chat.from-users", "chat.from-cards"}
	const unreachable = "amqp://guest:secret@127.0.0.1:1/"
	tests := []struct {
		name    string
		args    []string
		wantErr string
		usage   bool
	}{
		{"no command", nil, "list or replay", true},
		{"unknown command", []string{"purge"}, `unknown command "purge"`, true},
		{"queue of another program", []string{"list", "-queue", "cards.from-users"}, `does not consume a queue named "cards.from-users"; its queues are chat.from-users, chat.from-cards`, true},
		{"unknown flag", []string{"replay", "-all"}, "flag provided but not defined: -all", true},
		{"stray argument", []string{"list", "chat.from-users"}, `unexpected argument "chat.from-users"`, true},
		{"list of none", []string{"list", "-max", "0"}, "-max must be at least 1", false},
		{"negative replay", []string{"replay", "-max", "-3"}, "-max must be 0 (all) or more", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var stdout, stderr bytes.Buffer
			err := deadletter.Command(t.Context(), tt.args, unreachable, queues, &stdout, &stderr)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
			}
			if errors.As(err, new(*broker.UnreachableError)) {
				t.Errorf("err = %v: the command dialled the broker before checking its arguments", err)
			}
			if got := strings.Contains(stderr.String(), "usage:"); got != tt.usage {
				t.Errorf("usage on stderr: %v, want %v; stderr:\n%s", got, tt.usage, stderr.String())
			}
			if stdout.Len() > 0 {
				t.Errorf("stdout = %q, want nothing", stdout.String())
			}
		})
	}

	t.Run("a program without queues", func(t *testing.T) {
		var stdout, stderr bytes.Buffer
		err := deadletter.Command(t.Context(), []string{"list", "-queue", "chat.from-users"}, unreachable, nil, &stdout, &stderr)
		if err == nil || !strings.Contains(err.Error(), "consumes no queues") {
			t.Errorf("err = %v, want one saying the program consumes no queues", err)
		}
	})

	t.Run("help", func(t *testing.T) {
		var stdout, stderr bytes.Buffer
		err := deadletter.Command(t.Context(), []string{"list", "-h"}, unreachable, queues, &stdout, &stderr)
		if !errors.Is(err, flag.ErrHelp) {
			t.Errorf("err = %v, want flag.ErrHelp", err)
		}
		if !strings.Contains(stderr.String(), "-max N") || !strings.Contains(stderr.String(), "-queue") {
			t.Errorf("stderr = %q, want the usage with its flags", stderr.String())
		}
	})

	t.Run("unreachable broker", func(t *testing.T) {
		var stdout, stderr bytes.Buffer
		err := deadletter.Command(t.Context(), []string{"list"}, unreachable, queues, &stdout, &stderr)
		var ue *broker.UnreachableError
		if !errors.As(err, &ue) {
			t.Fatalf("err = %v, want a *broker.UnreachableError", err)
		}
		msg := err.Error()
		if !strings.HasPrefix(msg, "cannot reach RabbitMQ at amqp://guest:") || strings.Contains(msg, "secret") {
			t.Errorf("err = %q, want a plain sentence naming the broker without its password", msg)
		}
	})
}

func TestCommandListAndReplay(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 0, 0)
	q, empty := f.queues[0], f.queues[1]
	url := servicetest.AMQPURL(t)
	queues := []string{q.Name(), empty.Name()}
	a := f.deadLetter(q, "handler: insert thing: duplicate key\ngoroutine 7 [running]:\n\tthings.go:12", 5)
	b := f.deadLetter(q, "undecodable: cloudevent: missing id", 1)
	f.waitCount(topology.DeadLetterQueue(q.Name()), 2)

	t.Run("list", func(t *testing.T) {
		var stdout, stderr bytes.Buffer
		if err := deadletter.Command(t.Context(), []string{"list"}, url, queues, &stdout, &stderr); err != nil {
			t.Fatalf("list: %v\nstderr: %s", err, stderr.String())
		}
		lines := strings.Split(strings.TrimRight(stdout.String(), "\n"), "\n")
		if len(lines) != 4 {
			t.Fatalf("list printed %d lines, want a header, 2 rows and the count:\n%s", len(lines), stdout.String())
		}
		for _, col := range []string{"QUEUE", "MESSAGE ID", "TYPE", "FAILED AT", "ATTEMPTS", "REASON"} {
			if !strings.Contains(lines[0], col) {
				t.Errorf("header %q lacks %s", lines[0], col)
			}
		}
		for i, w := range []struct {
			s        sent
			attempts string
			reason   string
		}{{a, "5", "handler: insert thing: duplicate key…"}, {b, "1", "undecodable: cloudevent: missing id"}} {
			row := lines[i+1]
			for _, want := range []string{q.Name(), w.s.id, eventType, w.s.failedAt.Format("2006-01-02T15:04:05Z"), " " + w.attempts + " ", w.reason} {
				if !strings.Contains(row, want) {
					t.Errorf("row %q lacks %q", row, want)
				}
			}
			if !strings.HasSuffix(row, w.reason) {
				t.Errorf("row %q does not end with the reason's first line %q", row, w.reason)
			}
		}
		if lines[3] != "2 dead letters" {
			t.Errorf("count line = %q, want %q", lines[3], "2 dead letters")
		}
	})

	f.waitCount(topology.DeadLetterQueue(q.Name()), 2)
	t.Run("list with a limit", func(t *testing.T) {
		var stdout, stderr bytes.Buffer
		if err := deadletter.Command(t.Context(), []string{"list", "-queue", q.Name(), "-max", "1"}, url, queues, &stdout, &stderr); err != nil {
			t.Fatalf("list: %v", err)
		}
		out := stdout.String()
		if !strings.Contains(out, a.id) || strings.Contains(out, b.id) {
			t.Errorf("list -max 1 printed:\n%s\nwant only the first letter", out)
		}
		if !strings.Contains(out, "1 dead letter\n") || !strings.Contains(out, topology.DeadLetterQueue(q.Name())+" may hold more than the 1 shown") {
			t.Errorf("list -max 1 printed:\n%s\nwant the count and a hint that there may be more", out)
		}
	})

	t.Run("list of an empty queue", func(t *testing.T) {
		var stdout, stderr bytes.Buffer
		if err := deadletter.Command(t.Context(), []string{"list", "-queue", empty.Name()}, url, queues, &stdout, &stderr); err != nil {
			t.Fatalf("list: %v", err)
		}
		if want := "no dead letters in " + topology.DeadLetterQueue(empty.Name()) + "\n"; stdout.String() != want {
			t.Errorf("list printed %q, want %q", stdout.String(), want)
		}
	})

	f.waitCount(topology.DeadLetterQueue(q.Name()), 2)
	t.Run("replay", func(t *testing.T) {
		var stdout, stderr bytes.Buffer
		if err := deadletter.Command(t.Context(), []string{"replay"}, url, queues, &stdout, &stderr); err != nil {
			t.Fatalf("replay: %v\nstderr: %s", err, stderr.String())
		}
		want := "replayed 2 dead letters from " + topology.DeadLetterQueue(q.Name()) + " to " + q.Name() + "\n" +
			"replayed 0 dead letters from " + topology.DeadLetterQueue(empty.Name()) + " to " + empty.Name() + "\n"
		if stdout.String() != want {
			t.Errorf("replay printed:\n%s\nwant:\n%s", stdout.String(), want)
		}
		f.waitCount(q.Name(), 2)
		f.waitCount(topology.DeadLetterQueue(q.Name()), 0)
	})
}
