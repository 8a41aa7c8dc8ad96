package telemetry_test

import (
	"context"
	"database/sql"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/scs-platform/shared-events/contracts/cloudevent"
	"github.com/scs-platform/shared-events/eventing/broker"
	"github.com/scs-platform/shared-events/eventing/consumer"
	"github.com/scs-platform/shared-events/eventing/eventsig"
	"github.com/scs-platform/shared-events/eventing/outbox"
	"github.com/scs-platform/shared-events/runtime/health"
	"github.com/scs-platform/shared-events/runtime/telemetry"
	"github.com/scs-platform/shared-events/testkit/servicetest"
)

// TestOneTraceFromRequestToConsumer follows one request of a caller that sends
// a traceparent: its handler appends an event through the outbox, the relay
// publishes it to the real RabbitMQ, and a consumer applies it. The consumer's
// span is in the request's trace, its parents lead through the publish to the
// request's server span, and the lines logged on both sides carry the trace id.
func TestOneTraceFromRequestToConsumer(t *testing.T) {
	const (
		callerTrace = "4bf92f3577b34da6a3ce929d0e0e4736"
		callerSpan  = "00f067aa0ba902b7"
		sink        = "sink"
	)
	for _, b := range servicetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			amqpURL := servicetest.AMQPURL(t)
			owner := servicetest.Owner(t)
			src, replica := b.Open(t), b.Open(t)
			rec := recorder(t)
			var logs syncBuffer
			logger := slog.New(telemetry.NewLogHandler(slog.NewJSONHandler(&logs, nil)))
			ctx := context.Background()
			events := outbox.New(src, eventsig.DevelopmentSigner(owner))
			if err := events.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			if err := consumer.Migrate(ctx, replica); err != nil {
				t.Fatal(err)
			}
			typ := owner + ".thing.changed.v1"

			// The owner's side: a handler that changes a thing and appends its event.
			mux := http.NewServeMux()
			mux.HandleFunc("POST /things/{id}", func(w http.ResponseWriter, r *http.Request) {
				ev, err := cloudevent.New("/scs-"+owner, typ, r.PathValue("id"), 1, map[string]string{"id": r.PathValue("id")})
				if err == nil {
					err = src.InTx(r.Context(), func(tx *sql.Tx) error { return events.Append(r.Context(), tx, ev) })
				}
				if err != nil {
					logger.ErrorContext(r.Context(), "append", "err", err)
					http.Error(w, "append failed", http.StatusInternalServerError)
					return
				}
				logger.InfoContext(r.Context(), "thing changed")
				w.WriteHeader(http.StatusNoContent)
			})
			durations := health.NewRequestDurations(func(r *http.Request) string { return strings.TrimPrefix(r.Pattern, r.Method+" ") })
			server := httptest.NewServer(telemetry.Handler(durations.Middleware(mux)))
			defer server.Close()

			// The consumer's side: a handler that notes the span it runs in.
			var mu sync.Mutex
			var handled []trace.SpanContext
			sub := &consumer.Consumer{
				DB: replica, Name: sink, Owner: owner, Keys: eventsig.DevelopmentKeys(owner),
				Handlers: map[string]consumer.Handler{typ: func(ctx context.Context, _ *sql.Tx, ev cloudevent.Event) error {
					logger.InfoContext(ctx, "thing replicated", "subject", ev.Subject)
					mu.Lock()
					handled = append(handled, trace.SpanContextFromContext(ctx))
					mu.Unlock()
					return nil
				}},
				Broker: &broker.Runner{URL: amqpURL, Name: owner + "-consumer", Logger: logger, MaxBackoff: 500 * time.Millisecond},
				Logger: logger,
			}
			relay := &outbox.Relay{
				Outbox: events, Owner: owner, Logger: logger,
				Broker: &broker.Runner{URL: amqpURL, Name: owner + "-relay", Logger: logger, MaxBackoff: 500 * time.Millisecond},
			}
			// The queue collects the event from the start, whenever the consumer
			// connects.
			ch, err := servicetest.AMQP(t).Channel()
			if err != nil {
				t.Fatal(err)
			}
			if err := sub.Queue().Declare(ch); err != nil {
				t.Fatal(err)
			}
			ch.Close()
			background(t, sub.Run)
			background(t, relay.Run)

			req, err := http.NewRequest(http.MethodPost, server.URL+"/things/42", nil)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("traceparent", "00-"+callerTrace+"-"+callerSpan+"-01")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusNoContent {
				t.Fatalf("POST /things/42 = %d, want 204", resp.StatusCode)
			}
			if got := resp.Header.Get("X-Request-Id"); got != callerTrace {
				t.Errorf("X-Request-Id = %q, want the trace id %s", got, callerTrace)
			}
			servicetest.Eventually(t, 30*time.Second, "the consumer's span to end", func() bool {
				return find(rec.Ended(), trace.SpanKindConsumer) != nil
			})

			spans := rec.Ended()
			requestSpan := find(spans, trace.SpanKindServer)
			publishSpan := find(spans, trace.SpanKindProducer)
			applySpan := find(spans, trace.SpanKindConsumer)
			if requestSpan == nil || publishSpan == nil {
				t.Fatalf("ended spans %v, want a server, a producer and a consumer span", names(spans))
			}
			if got := requestSpan.SpanContext().TraceID().String(); got != callerTrace || requestSpan.Parent().SpanID().String() != callerSpan {
				t.Errorf("the server span is in trace %s under %s, want the caller's %s under %s", got, requestSpan.Parent().SpanID(), callerTrace, callerSpan)
			}
			if requestSpan.Name() != "POST /things/{id}" {
				t.Errorf("the server span is named %q, want POST /things/{id}", requestSpan.Name())
			}
			if applySpan.SpanContext().TraceID() != requestSpan.SpanContext().TraceID() {
				t.Errorf("the consumer's span is in trace %s, the request's in %s", applySpan.SpanContext().TraceID(), requestSpan.SpanContext().TraceID())
			}
			if chain := parents(spans, applySpan); strings.Join(chain, " < ") != "process "+sink+".from-"+owner+" < publish "+owner+".events < POST /things/{id}" {
				t.Errorf("the consumer's span descends from %q, want it below the publish below the request", chain)
			}
			wantAttrs := map[attribute.Key]string{
				semconv.MessagingDestinationSubscriptionNameKey: sink + ".from-" + owner,
				semconv.CloudEventsEventTypeKey:                 typ,
				semconv.MessagingSystemKey:                      "rabbitmq",
			}
			for k, want := range wantAttrs {
				if got := attr(applySpan, k); got != want {
					t.Errorf("consumer span attribute %s = %q, want %q", k, got, want)
				}
			}
			if got := attr(publishSpan, semconv.MessagingDestinationNameKey); got != owner+".events" {
				t.Errorf("the publish span's destination %q, want %s.events", got, owner)
			}
			mu.Lock()
			if len(handled) != 1 || !handled[0].Equal(applySpan.SpanContext()) {
				t.Errorf("the handler ran in spans %v, want once in the consumer's span %s", handled, applySpan.SpanContext().SpanID())
			}
			mu.Unlock()

			// The event keeps its cause: the request's span, which is what the feed
			// serves to a consumer catching up.
			stored, _, err := events.Read(ctx, 0, 10)
			if err != nil {
				t.Fatal(err)
			}
			wantTP := "00-" + callerTrace + "-" + requestSpan.SpanContext().SpanID().String() + "-01"
			if len(stored) != 1 || stored[0].TraceParent != wantTP {
				t.Errorf("stored events %+v, want one with traceparent %s", stored, wantTP)
			}

			var changed, replicated map[string]any
			for _, line := range logLines(t, logs.String()) {
				switch line["msg"] {
				case "thing changed":
					changed = line
				case "thing replicated":
					replicated = line
				}
			}
			if changed["request_id"] != callerTrace || changed["trace_id"] != callerTrace {
				t.Errorf("the request's log line is %v, want request_id and trace_id %s", changed, callerTrace)
			}
			if replicated["trace_id"] != callerTrace {
				t.Errorf("the consumer's log line is %v, want trace_id %s", replicated, callerTrace)
			}
		})
	}
}

// background runs fn until the test ends, and fails the test if fn returns an
// error before that.
func background(t *testing.T, fn func(context.Context) error) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := fn(ctx); err != nil && ctx.Err() == nil {
			t.Errorf("background worker: %v", err)
		}
	}()
	t.Cleanup(func() { cancel(); <-done })
}

func find(spans []sdktrace.ReadOnlySpan, kind trace.SpanKind) sdktrace.ReadOnlySpan {
	for _, s := range spans {
		if s.SpanKind() == kind {
			return s
		}
	}
	return nil
}

// parents names s and its ancestors among spans, nearest first.
func parents(spans []sdktrace.ReadOnlySpan, s sdktrace.ReadOnlySpan) []string {
	byID := map[trace.SpanID]sdktrace.ReadOnlySpan{}
	for _, sp := range spans {
		byID[sp.SpanContext().SpanID()] = sp
	}
	var chain []string
	for s != nil && len(chain) <= len(spans) {
		chain = append(chain, s.Name())
		s = byID[s.Parent().SpanID()]
	}
	return chain
}

func attr(s sdktrace.ReadOnlySpan, k attribute.Key) string {
	for _, a := range s.Attributes() {
		if a.Key == k {
			return a.Value.Emit()
		}
	}
	return ""
}

func names(spans []sdktrace.ReadOnlySpan) []string {
	var out []string
	for _, s := range spans {
		out = append(out, s.SpanKind().String()+" "+s.Name())
	}
	return out
}
